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
    /// A ticket's comment: the problem came back while its issue was open.
    Again,
    /// A ticket's comment: the issue was closed before and the problem came back.
    Reopened,
    /// A ticket's comment: the problem is gone (a later successful run, the alarm's OK).
    Recovered,
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
        (Language::En, Again) => "Occurred again",
        (Language::En, Reopened) => "Occurred again after it was closed",
        (Language::En, Recovered) => "Recovered",
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
        (Language::Ja, Again) => "再発生",
        (Language::Ja, Reopened) => "クローズ後に再発生",
        (Language::Ja, Recovered) => "復旧",
        (Language::Ko, Machine) => "머신",
        (Language::Ko, Robot) => "로봇",
        (Language::Ko, Started) => "시작",
        (Language::Ko, Ended) => "종료",
        (Language::Ko, Folder) => "폴더",
        (Language::Ko, JobId) => "작업 ID",
        (Language::Ko, Info) => "상세",
        (Language::Ko, Open) => "작업 열기",
        (Language::Ko, EventKey) => "이벤트 키",
        (Language::Ko, Changed) => "상태 변경",
        (Language::Ko, Again) => "재발생",
        (Language::Ko, Reopened) => "종료 후 재발생",
        (Language::Ko, Recovered) => "복구",
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
        (Language::En, NotStarted) => "could not start",
        (Language::En, Offline) => "went offline",
        (Language::En, Online) => "is back online",
        (Language::En, Late) => "is late",
        (Language::En, Down) => "is down",
        (Language::En, Up) => "is up again",
        (Language::En, Stuck) => "has not moved on for too long",
        (Language::En, Hung) => "has been running too long",
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
        (Language::Ja, NotStarted) => "を開始できませんでした",
        (Language::Ja, Offline) => "がオフラインになりました",
        (Language::Ja, Online) => "がオンラインに戻りました",
        (Language::Ja, Late) => "が遅れています",
        (Language::Ja, Down) => "が停止しています",
        (Language::Ja, Up) => "が復旧しました",
        (Language::Ja, Stuck) => "が長時間進んでいません",
        (Language::Ja, Hung) => "が長時間終わっていません",
        (Language::Ko, Created) => "생성되었습니다",
        (Language::Ko, Started) => "시작되었습니다",
        (Language::Ko, Faulted) => "실패했습니다",
        (Language::Ko, Successful) => "정상 종료되었습니다",
        (Language::Ko, Stopped) => "중지되었습니다",
        (Language::Ko, Suspended) => "일시 중단되었습니다",
        (Language::Ko, Resumed) => "재개되었습니다",
        (Language::Ko, Alarm) => "경보 상태입니다",
        (Language::Ko, Ok) => "정상으로 복구되었습니다",
        (Language::Ko, InsufficientData) => "데이터가 부족합니다",
        (Language::Ko, NotStarted) => "시작하지 못했습니다",
        (Language::Ko, Offline) => "오프라인이 되었습니다",
        (Language::Ko, Online) => "다시 온라인입니다",
        (Language::Ko, Late) => "지연되고 있습니다",
        (Language::Ko, Down) => "중단되었습니다",
        (Language::Ko, Up) => "다시 정상입니다",
        (Language::Ko, Stuck) => "오랫동안 진행되지 않고 있습니다",
        (Language::Ko, Hung) => "너무 오래 실행되고 있습니다",
    }
}

pub(crate) fn title(process: &str, state: State, lang: Language) -> String {
    format!("{process} {}", state_phrase(state, lang))
}
