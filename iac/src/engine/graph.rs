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
        // Kahn's algorithm, taking ready nodes in declaration order so the order is the same on every run.
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
