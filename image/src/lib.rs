//! hoist: OCI image tool (see issue: pull, store, unpack, bundle).
