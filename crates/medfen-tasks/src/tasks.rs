//! The task registry: `six_class` and the binary tasks built from the diagnosis codes,
//! with their Chinese aliases, plus tasks a user defines in a TOML file.
//!
//! A binary task maps its negative codes to 0 and its positive codes to 1; an ear
//! whose code is in neither set (or has no label) is masked out of that task.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::codes::CODE_NAMES;
use crate::error::{Error, Result};

/// What a task predicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskKind {
    /// One class per code 1..=6 (class id = code - 1).
    SixClass,
    /// Negative codes -> 0, positive codes -> 1.
    Binary {
        /// Codes of class 0.
        negative: Vec<u8>,
        /// Codes of class 1.
        positive: Vec<u8>,
    },
}

/// A named task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Canonical name (used in column names: `task_y__<name>`).
    pub name: String,
    /// What it predicts.
    #[serde(flatten)]
    pub kind: TaskKind,
    /// Class names, in class-id order.
    pub class_names: Vec<String>,
    /// Other names that resolve to this task.
    pub aliases: Vec<String>,
}

impl Task {
    fn binary(
        name: &str,
        negative: &[u8],
        positive: &[u8],
        names: [&str; 2],
        aliases: &[&str],
    ) -> Self {
        Self {
            name: name.into(),
            kind: TaskKind::Binary {
                negative: negative.to_vec(),
                positive: positive.to_vec(),
            },
            class_names: names.iter().map(|s| (*s).to_string()).collect(),
            aliases: aliases.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    /// The class of an ear with diagnosis `code`, or `None` when the ear is masked
    /// (no label, or a code outside the task).
    ///
    /// ```
    /// use medfen_tasks::TaskRegistry;
    /// let tasks = TaskRegistry::builtin();
    /// let t = tasks.resolve("正常vs异常").unwrap();
    /// assert_eq!(t.name, "normal_vs_abnormal");
    /// assert_eq!(t.target(Some(5)), Some(0));
    /// assert_eq!(t.target(Some(6)), Some(1));
    /// let d = tasks.resolve("normal_vs_diseased").unwrap();
    /// assert_eq!(d.target(Some(6)), None); // code 6 is not in this task
    /// assert_eq!(d.target(None), None);
    /// ```
    pub fn target(&self, code: Option<u8>) -> Option<u8> {
        let code = code?;
        match &self.kind {
            TaskKind::SixClass => (1..=6).contains(&code).then(|| code - 1),
            TaskKind::Binary { negative, positive } => {
                if negative.contains(&code) {
                    Some(0)
                } else if positive.contains(&code) {
                    Some(1)
                } else {
                    None
                }
            }
        }
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The codes that take part in the task.
    pub fn codes(&self) -> Vec<u8> {
        match &self.kind {
            TaskKind::SixClass => (1..=6).collect(),
            TaskKind::Binary { negative, positive } => {
                let mut c: Vec<u8> = negative.iter().chain(positive).copied().collect();
                c.sort_unstable();
                c
            }
        }
    }
}

/// Known tasks, built-in first, then user tasks in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRegistry {
    tasks: Vec<Task>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFile {
    #[serde(default)]
    task: Vec<UserTask>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserTask {
    name: String,
    negative: Vec<u8>,
    positive: Vec<u8>,
    #[serde(default)]
    class_names: Option<[String; 2]>,
    #[serde(default)]
    aliases: Vec<String>,
}

impl TaskRegistry {
    /// `six_class` and the nine binary tasks of the ear-CT study.
    pub fn builtin() -> Self {
        let mut six = Task {
            name: "six_class".into(),
            kind: TaskKind::SixClass,
            class_names: CODE_NAMES.iter().map(|s| (*s).to_string()).collect(),
            aliases: vec!["6".into(), "6class".into(), "multiclass".into()],
        };
        six.aliases.sort();
        let tasks = vec![
            six,
            Task::binary(
                "normal_vs_diseased",
                &[5],
                &[1, 2, 3, 4],
                ["正常", "患病"],
                &["二分类_正常_vs_患病", "正常vs患病"],
            ),
            Task::binary(
                "normal_vs_abnormal",
                &[5],
                &[1, 2, 3, 4, 6],
                ["正常", "异常"],
                &["正常vs非正常", "正常vs异常"],
            ),
            Task::binary(
                "normal_vs_csoma",
                &[5],
                &[1],
                ["正常", "慢性化脓性中耳炎"],
                &["正常vs慢性化脓性中耳炎"],
            ),
            Task::binary(
                "normal_vs_cholesteatoma",
                &[5],
                &[2],
                ["正常", "中耳胆脂瘤"],
                &["正常vs中耳胆脂瘤"],
            ),
            Task::binary(
                "normal_vs_cholesterol_granuloma",
                &[5],
                &[4],
                ["正常", "胆固醇肉芽肿"],
                &["正常vs胆固醇肉芽肿"],
            ),
            Task::binary(
                "normal_vs_ome",
                &[5],
                &[3],
                ["正常", "分泌性中耳炎"],
                &["正常vs分泌性中耳炎"],
            ),
            Task::binary(
                "ome_vs_cholesterol_granuloma",
                &[3],
                &[4],
                ["分泌性中耳炎", "胆固醇肉芽肿"],
                &["分泌性中耳炎vs胆固醇肉芽肿"],
            ),
            Task::binary(
                "cholesteatoma_vs_csoma",
                &[2],
                &[1],
                ["中耳胆脂瘤", "慢性化脓性中耳炎"],
                &["中耳胆脂瘤vs慢性化脓性中耳炎"],
            ),
            Task::binary(
                "cholesteatoma_vs_other_abnormal",
                &[1, 3, 4, 6],
                &[2],
                ["其他异常", "中耳胆脂瘤"],
                &["胆脂瘤vs其他异常"],
            ),
        ];
        Self { tasks }
    }

    /// The built-in tasks plus those of a TOML file:
    ///
    /// ```toml
    /// [[task]]
    /// name = "ome_vs_normal_or_other"
    /// negative = [5, 6]
    /// positive = [3]
    /// class_names = ["正常或其他", "分泌性中耳炎"]   # optional
    /// aliases = ["积液vs正常"]                       # optional
    /// ```
    ///
    /// # Errors
    /// [`Error::TaskFile`] for unreadable TOML, codes outside 1..=6, a code in both
    /// sets, an empty set, or a name or alias that is already taken.
    pub fn with_file(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::TaskFile {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: TaskFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut registry = Self::builtin();
        for t in file.task {
            let name = t.name.trim().to_string();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(bad(format!(
                    "task name `{name}`: use letters, digits and _ only (it names columns)"
                )));
            }
            for code in t.negative.iter().chain(&t.positive) {
                if !(1..=6).contains(code) {
                    return Err(bad(format!("task {name}: code {code} is not 1..6")));
                }
            }
            if t.negative.is_empty() || t.positive.is_empty() {
                return Err(bad(format!(
                    "task {name}: negative and positive codes must both be given"
                )));
            }
            if let Some(c) = t.negative.iter().find(|c| t.positive.contains(c)) {
                return Err(bad(format!(
                    "task {name}: code {c} is both negative and positive"
                )));
            }
            for n in std::iter::once(&name).chain(&t.aliases) {
                if registry.find(n).is_some() {
                    return Err(bad(format!("task {name}: the name `{n}` is already taken")));
                }
            }
            let class_names = t.class_names.map_or_else(
                || {
                    let join = |codes: &[u8]| {
                        codes
                            .iter()
                            .map(|c| CODE_NAMES[usize::from(*c) - 1])
                            .collect::<Vec<_>>()
                            .join("/")
                    };
                    vec![join(&t.negative), join(&t.positive)]
                },
                |n| n.to_vec(),
            );
            registry.tasks.push(Task {
                name,
                kind: TaskKind::Binary {
                    negative: t.negative,
                    positive: t.positive,
                },
                class_names,
                aliases: t.aliases,
            });
        }
        Ok(registry)
    }

    fn find(&self, name: &str) -> Option<&Task> {
        let name = name.trim();
        self.tasks
            .iter()
            .find(|t| t.name == name || t.aliases.iter().any(|a| a == name))
    }

    /// The task called `name` (a canonical name or an alias; surrounding spaces ignored).
    ///
    /// # Errors
    /// [`Error::UnknownTask`] listing the known names.
    pub fn resolve(&self, name: &str) -> Result<&Task> {
        self.find(name).ok_or_else(|| Error::UnknownTask {
            name: name.to_string(),
            known: self.names().join(", "),
        })
    }

    /// Every task.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// Canonical names, in registry order.
    pub fn names(&self) -> Vec<&str> {
        self.tasks.iter().map(|t| t.name.as_str()).collect()
    }

    /// The binary tasks (the manifest has a column pair for each).
    pub fn binary(&self) -> impl Iterator<Item = &Task> {
        self.tasks
            .iter()
            .filter(|t| matches!(t.kind, TaskKind::Binary { .. }))
    }
}
