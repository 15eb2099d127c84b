//! The emulated kube-apiserver for coordination.k8s.io/v1 Leases.
