//! The dependency graph, derived from the links between resources (inputs that reference another
//! resource's outputs) plus explicit `depends_on`; a topological order and the reverse for deletes.

use std::collections::{BTreeSet, HashMap};

use super::NodeId;
use crate::error::IacError;
use crate::stack::{Node, Stack};

/// A checked, ordered stack.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Nodes in a topological order (dependencies first; declaration order among equals).
    pub nodes: Vec<Node>,
    /// Node → the nodes it depends on.
    pub deps: HashMap<NodeId, Vec<NodeId>>,
}

impl Graph {
    /// Builds the graph; a reference to an undeclared node or a cycle is an error.
    pub fn new(stack: &Stack) -> Result<Graph, IacError> {
        let ids: BTreeSet<&NodeId> = stack.nodes.iter().map(|n| &n.id).collect();
        if ids.len() != stack.nodes.len() {
            return Err(IacError::Graph("two nodes share an id".into()));
        }
        let mut deps: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
        for node in &stack.nodes {
            let mut d: Vec<NodeId> = node
                .resource
                .inputs()
                .into_iter()
                .filter_map(|i| i.source().map(|s| s.node.clone()))
                .chain(node.depends_on.iter().cloned())
                .collect();
            d.sort();
            d.dedup();
            if let Some(missing) = d.iter().find(|x| !ids.contains(x)) {
                return Err(IacError::Graph(format!("{} depends on undeclared `{missing}`", node.id)));
            }
            deps.insert(node.id.clone(), d);
        }
        // Kahn's algorithm, taking ready nodes in declaration order so the order is stable.
        let mut order: Vec<Node> = Vec::with_capacity(stack.nodes.len());
        let mut placed: BTreeSet<NodeId> = BTreeSet::new();
        while order.len() < stack.nodes.len() {
            let ready: Vec<&Node> = stack
                .nodes
                .iter()
                .filter(|n| !placed.contains(&n.id) && deps[&n.id].iter().all(|d| placed.contains(d)))
                .collect();
            if ready.is_empty() {
                let stuck: Vec<&str> =
                    stack.nodes.iter().filter(|n| !placed.contains(&n.id)).map(|n| n.id.as_str()).collect();
                return Err(IacError::Graph(format!("dependency cycle among {}", stuck.join(", "))));
            }
            for n in ready {
                placed.insert(n.id.clone());
                order.push(n.clone());
            }
        }
        Ok(Graph { nodes: order, deps })
    }

    /// Node → the nodes that depend on it (the order constraint of deletes).
    pub fn dependents(&self) -> HashMap<NodeId, Vec<NodeId>> {
        let mut out: HashMap<NodeId, Vec<NodeId>> = self.nodes.iter().map(|n| (n.id.clone(), Vec::new())).collect();
        for (node, deps) in &self.deps {
            for d in deps {
                out.entry(d.clone()).or_default().push(node.clone());
            }
        }
        out
    }

    /// The position of a node in the order.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StackConfig;
    use crate::resources::function::Code;
    use crate::resources::test_support::target;
    use crate::stack::{Names, StackSpec, declare};

    fn graph() -> Graph {
        let spec = StackSpec {
            names: Names::new("todos", "dev"),
            config: StackConfig::default(),
            code: Code::from_bytes(b"zip".to_vec()),
            target: target(),
        };
        Graph::new(&declare(&spec)).unwrap()
    }

    #[test]
    fn graph_comes_from_the_links_between_resources() {
        let g = graph();
        let deps = |id: &str| g.deps[id].clone();
        assert_eq!(deps("role"), vec!["table"]);
        assert_eq!(deps("function"), vec!["log-group", "role", "table"]);
        assert_eq!(deps("integration"), vec!["function", "http-api"]);
        assert_eq!(deps("route:GET /todos"), vec!["http-api", "integration"]);
        assert_eq!(deps("permission"), vec!["function", "http-api"]);
        assert_eq!(deps("stage"), vec!["http-api"]);
        assert!(deps("table").is_empty() && deps("http-api").is_empty() && deps("log-group").is_empty());
    }

    #[test]
    fn order_puts_every_dependency_first_and_has_the_three_routes_from_the_contract() {
        let g = graph();
        for (node, deps) in &g.deps {
            for d in deps {
                assert!(g.position(d) < g.position(node), "{d} before {node}");
            }
        }
        let routes: Vec<&str> = g.nodes.iter().filter_map(|n| n.id.strip_prefix("route:")).collect();
        assert_eq!(routes, vec!["GET /todos", "POST /todos", "DELETE /todos/{id}"]);
        assert_eq!(g.nodes.len(), 11);
    }

    #[test]
    fn a_cycle_or_dangling_reference_is_reported() {
        use crate::engine::Input;
        use crate::resources::route::Route;
        let mut s = Stack::default();
        s.add(
            "a",
            Route {
                api_id: Input::output("b", "id"),
                route_key: "GET /a".into(),
                target: Input::known("t"),
                authorizer_id: None,
            },
        );
        s.add(
            "b",
            Route {
                api_id: Input::output("a", "id"),
                route_key: "GET /b".into(),
                target: Input::known("t"),
                authorizer_id: None,
            },
        );
        assert!(matches!(Graph::new(&s), Err(IacError::Graph(m)) if m.contains("cycle")));
        let mut s = Stack::default();
        s.add(
            "a",
            Route {
                api_id: Input::output("zz", "id"),
                route_key: "GET /a".into(),
                target: Input::known("t"),
                authorizer_id: None,
            },
        );
        assert!(matches!(Graph::new(&s), Err(IacError::Graph(m)) if m.contains("zz")));
    }
}
