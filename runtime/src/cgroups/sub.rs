//! `berth exec --cgroup`: run the new process in a sub-cgroup of the
//! container's cgroup, as runc does (`PATH` for every hierarchy, or
//! `CONTROLLER[,CONTROLLER]:PATH` for some; given several times).

use super::{Cgroup, CgroupError};
use std::path::{Component, Path};

impl Cgroup {
    /// The sub-cgroup `specs` name below this cgroup. Every directory must
    /// already exist (berth does not create cgroups for exec).
    pub fn sub(&self, specs: &[String]) -> Result<Cgroup, CgroupError> {
        let mut all: Option<&str> = None;
        let mut by_ctrl: Vec<(Vec<&str>, &str)> = Vec::new();
        for s in specs {
            let (ctrls, path) = match s.split_once(':') {
                Some((c, p)) => (Some(c), p),
                None => (None, s.as_str()),
            };
            let rel = Path::new(path);
            let bad = rel.is_absolute()
                || path.is_empty()
                || rel.components().any(|c| !matches!(c, Component::Normal(_)));
            if bad {
                return Err(CgroupError(format!(
                    "exec --cgroup \"{s}\": the path must be relative, without \"..\""
                )));
            }
            match ctrls {
                Some(c) => by_ctrl.push((c.split(',').collect(), path)),
                None => all = Some(path),
            }
        }
        let pick = |controllers: &[String]| -> Option<&str> {
            by_ctrl
                .iter()
                .find(|(cs, _)| cs.iter().any(|c| controllers.iter().any(|x| x == c)))
                .map(|(_, p)| *p)
                .or(all)
        };
        let mut out = self.clone();
        for d in &mut out.v1 {
            if let Some(p) = pick(&d.controllers) {
                d.path = d.path.join(p);
            }
        }
        if let Some(u) = &mut out.unified {
            if let Some(p) = pick(&["unified".to_string()]) {
                u.path = u.path.join(p);
            }
        }
        for d in out.dirs() {
            if !d.is_dir() {
                return Err(CgroupError(format!(
                    "exec --cgroup: {} does not exist",
                    d.display()
                )));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Mode, UnifiedDir, V1Dir};
    use super::*;

    fn cg(root: &Path) -> Cgroup {
        Cgroup {
            mode: Mode::Hybrid,
            v1: vec![
                V1Dir {
                    controllers: vec!["cpu".into()],
                    path: root.join("cpu"),
                },
                V1Dir {
                    controllers: vec!["memory".into()],
                    path: root.join("memory"),
                },
            ],
            unified: Some(UnifiedDir {
                mount: root.into(),
                path: root.join("unified"),
            }),
        }
    }

    #[test]
    fn sub_joins_per_controller_and_checks_existence() {
        let root = std::env::temp_dir().join(format!("berth-sub-{}", std::process::id()));
        for d in ["cpu/a", "memory/b", "unified/a"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let s = cg(&root).sub(&["a".into(), "memory:b".into()]).unwrap();
        assert_eq!(s.v1[0].path, root.join("cpu/a"));
        assert_eq!(s.v1[1].path, root.join("memory/b"));
        assert_eq!(s.unified.as_ref().unwrap().path, root.join("unified/a"));
        let e = cg(&root).sub(&["zz".into()]).unwrap_err();
        assert!(e.to_string().ends_with("zz does not exist"), "{e}");
        let e = cg(&root).sub(&["../x".into()]).unwrap_err();
        assert!(e.to_string().contains("must be relative"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
