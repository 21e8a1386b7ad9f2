//! Localized words. English doubles as the fallback.

use crate::event::State;
use crate::locale::Language;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Machine,
    Robot,
    Started,
    Ended,
    Folder,
    JobId,
    Info,
    Open,
    EventKey,
    /// When an alarm changed state (its `StateChangeTime`).
    Changed,
}

pub fn label(l: Label, lang: Language) -> &'static str {
    use Label::*;
    match (lang, l) {
        (Language::En, Machine) => "Machine",
        (Language::En, Robot) => "Robot",
        (Language::En, Started) => "Started",
        (Language::En, Ended) => "Ended",
        (Language::En, Folder) => "Folder",
        (Language::En, JobId) => "Job ID",
        (Language::En, Info) => "Info",
        (Language::En, Open) => "Open job",
        (Language::En, EventKey) => "Event key",
        (Language::En, Changed) => "State changed",
        (Language::Ja, Machine) => "マシン",
        (Language::Ja, Robot) => "ロボット",
        (Language::Ja, Started) => "開始",
        (Language::Ja, Ended) => "終了",
        (Language::Ja, Folder) => "フォルダー",
        (Language::Ja, JobId) => "ジョブID",
        (Language::Ja, Info) => "詳細",
        (Language::Ja, Open) => "ジョブを開く",
        (Language::Ja, EventKey) => "イベントキー",
        (Language::Ja, Changed) => "状態変化",
    }
}

/// What happened, as a predicate: `faulted` / `が失敗しました`.
pub fn state_phrase(state: State, lang: Language) -> &'static str {
    use State::*;
    match (lang, state) {
        (Language::En, Created) => "was created",
        (Language::En, Started) => "started",
        (Language::En, Faulted) => "faulted",
        (Language::En, Successful) => "completed successfully",
        (Language::En, Stopped) => "was stopped",
        (Language::En, Suspended) => "was suspended",
        (Language::En, Resumed) => "resumed",
        (Language::En, Alarm) => "is in ALARM",
        (Language::En, Ok) => "is back to OK",
        (Language::En, InsufficientData) => "has insufficient data",
        (Language::Ja, Created) => "が作成されました",
        (Language::Ja, Started) => "が開始しました",
        (Language::Ja, Faulted) => "が失敗しました",
        (Language::Ja, Successful) => "が正常終了しました",
        (Language::Ja, Stopped) => "が停止されました",
        (Language::Ja, Suspended) => "が中断されました",
        (Language::Ja, Resumed) => "が再開しました",
        (Language::Ja, Alarm) => "がアラーム状態です",
        (Language::Ja, Ok) => "が正常に戻りました",
        (Language::Ja, InsufficientData) => "のデータが不足しています",
    }
}

pub(crate) fn title(process: &str, state: State, lang: Language) -> String {
    format!("{process} {}", state_phrase(state, lang))
}
