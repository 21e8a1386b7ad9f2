//! What the bot says, in the deployment's language (`CHAT_LANGUAGE`, else `language`): English,
//! Japanese or Korean.

use crate::locale::Language;

/// One reply of the bot.
pub(crate) enum Say<'a> {
    Help,
    Added {
        space: &'a str,
    },
    Failed {
        error: &'a str,
    },
    AckWhich,
    Acked {
        id: &'a str,
        by: &'a str,
    },
    NoEscalation {
        id: &'a str,
    },
    Running {
        spaces: usize,
    },
    Delivered {
        n: usize,
    },
    Escalations {
        n: usize,
    },
    Heartbeats {
        n: usize,
    },
    AnsweredBy {
        number: &'a str,
    },
    AckedBy {
        by: &'a str,
    },
    Calling {
        id: &'a str,
    },
    NobodyAnswered,
    Expired,
    OncallOff,
    MappingUnreadable {
        error: &'a str,
    },
    OnCallToday {
        day: u32,
        topic: Option<&'a str>,
        group: &'a str,
        numbers: &'a str,
    },
    NobodyScheduled {
        day: u32,
        topic: Option<&'a str>,
        notice: &'a str,
    },
    FilesNeedFixing {
        day: u32,
        topic: Option<&'a str>,
        finding: &'a str,
    },
    SilenceRefused {
        why: &'a str,
    },
    /// `verb` is for responders (`access`).
    NotAllowed {
        verb: &'a str,
        why: crate::access::Refusal,
    },
    Silenced {
        id: &'a str,
        until: &'a str,
        what: &'a str,
    },
    Silences {
        n: usize,
    },
    Unsilenced {
        id: &'a str,
    },
    NoSilence {
        id: &'a str,
    },
}

impl Say<'_> {
    pub fn text(&self, lang: Language) -> String {
        use Language::{En, Ja, Ko};
        use Say::*;
        let topic = |t: &Option<&str>, en: &str| match t {
            None => String::new(),
            Some(t) => format!("{en}{t}"),
        };
        match (self, lang) {
            (Help, En) => "Commands: `help`, `status`, `oncall [topic]` (who is on call now), `ack <incident>` (stop a phone escalation), `silence <matchers> for 2h \"why\"`, `silences`, `unsilence <id>`.".into(),
            (Help, Ja) => "コマンド: `help`、`status`、`oncall [topic]` (今の当番)、`ack <incident>` (電話エスカレーションを止める)、`silence <matchers> for 2h \"理由\"`、`silences`、`unsilence <id>`。".into(),
            (Help, Ko) => "명령: `help`, `status`, `oncall [topic]` (현재 당번), `ack <incident>` (전화 에스컬레이션 중지), `silence <matchers> for 2h \"이유\"`, `silences`, `unsilence <id>`.".into(),
            (Added { space }, En) => format!("Thanks for adding me to {space}. I will post job failures and alarms here. {}", Help.text(En)),
            (Added { space }, Ja) => format!("{space} に追加してくれてありがとう。ジョブの失敗とアラームをここに投稿します。{}", Help.text(Ja)),
            (Added { space }, Ko) => format!("{space}에 추가해 주셔서 감사합니다. 작업 실패와 경보를 여기에 올립니다. {}", Help.text(Ko)),
            (Failed { error }, En) => format!("Sorry, that failed: {error}. Try again in a minute."),
            (Failed { error }, Ja) => format!("失敗しました: {error}。少し待ってからもう一度どうぞ。"),
            (Failed { error }, Ko) => format!("실패했습니다: {error}. 잠시 후 다시 시도해 주세요."),
            (AckWhich, En) => "Say which incident: `ack <incident>`.".into(),
            (AckWhich, Ja) => "インシデントを指定してください: `ack <incident>`。".into(),
            (AckWhich, Ko) => "인시던트를 지정해 주세요: `ack <incident>`.".into(),
            (Acked { id, by }, En) => format!("Acknowledged {id} by {by}: nobody else will be called."),
            (Acked { id, by }, Ja) => format!("{by} が {id} を確認しました。これ以上は電話しません。"),
            (Acked { id, by }, Ko) => format!("{by} 님이 {id}을(를) 확인했습니다. 더 이상 전화하지 않습니다."),
            (NoEscalation { id }, En) => format!("No running escalation {id}."),
            (NoEscalation { id }, Ja) => format!("実行中のエスカレーション {id} はありません。"),
            (NoEscalation { id }, Ko) => format!("진행 중인 에스컬레이션 {id}이(가) 없습니다."),
            (Running { spaces }, En) => format!("opsbell is running. I post to {spaces} space(s)."),
            (Running { spaces }, Ja) => format!("opsbell は稼働中です。{spaces} 個のスペースに投稿します。"),
            (Running { spaces }, Ko) => format!("opsbell이 실행 중입니다. {spaces}개 스페이스에 게시합니다."),
            (Delivered { n }, En) => format!("Delivered in the last 24 h: {n}"),
            (Delivered { n }, Ja) => format!("過去 24 時間の配信: {n}"),
            (Delivered { n }, Ko) => format!("최근 24시간 전달: {n}"),
            (Escalations { n }, En) => format!("Phone escalations this week: {n}"),
            (Escalations { n }, Ja) => format!("今週の電話エスカレーション: {n}"),
            (Escalations { n }, Ko) => format!("이번 주 전화 에스컬레이션: {n}"),
            (Heartbeats { n }, En) => format!("Heartbeat checks: {n}"),
            (Heartbeats { n }, Ja) => format!("ハートビート監視: {n}"),
            (Heartbeats { n }, Ko) => format!("하트비트 검사: {n}"),
            (AnsweredBy { number }, En) => format!("answered by {number}"),
            (AnsweredBy { number }, Ja) => format!("{number} が応答"),
            (AnsweredBy { number }, Ko) => format!("{number} 응답"),
            (AckedBy { by }, En) => format!("acknowledged by {by}"),
            (AckedBy { by }, Ja) => format!("{by} が確認"),
            (AckedBy { by }, Ko) => format!("{by} 님 확인"),
            (Calling { id }, En) => format!("calling (`ack {id}` stops it)"),
            (Calling { id }, Ja) => format!("発信中 (`ack {id}` で停止)"),
            (Calling { id }, Ko) => format!("발신 중 (`ack {id}`로 중지)"),
            (NobodyAnswered, En) => "nobody answered".into(),
            (NobodyAnswered, Ja) => "誰も応答しませんでした".into(),
            (NobodyAnswered, Ko) => "아무도 응답하지 않았습니다".into(),
            (Expired, En) => "expired".into(),
            (Expired, Ja) => "期限切れ".into(),
            (Expired, Ko) => "만료됨".into(),
            (OncallOff, En) => "On-call is not configured for this bot.".into(),
            (OncallOff, Ja) => "このボットには当番 (オンコール) が設定されていません。".into(),
            (OncallOff, Ko) => "이 봇에는 당번(온콜)이 설정되어 있지 않습니다.".into(),
            (MappingUnreadable { error }, En) => format!("The mapping could not be read: {error}"),
            (MappingUnreadable { error }, Ja) => format!("マッピングファイルを読めませんでした: {error}"),
            (MappingUnreadable { error }, Ko) => format!("매핑 파일을 읽을 수 없습니다: {error}"),
            (OnCallToday { day, topic: t, group, numbers }, En) => {
                format!("On call today (day {day}){}: {group} — {numbers}", topic(t, " for "))
            }
            (OnCallToday { day, topic: t, group, numbers }, Ja) => {
                format!("本日 ({day} 日) の当番{}: {group} — {numbers}", topic(t, " ・"))
            }
            (OnCallToday { day, topic: t, group, numbers }, Ko) => {
                format!("오늘({day}일) 당번{}: {group} — {numbers}", topic(t, " · "))
            }
            (NobodyScheduled { day, topic: t, notice }, En) => {
                format!("Nobody is scheduled for day {day}{}. {notice}", topic(t, " for "))
            }
            (NobodyScheduled { day, topic: t, notice }, Ja) => {
                format!("{day} 日の当番がいません{}。{notice}", topic(t, " ・"))
            }
            (NobodyScheduled { day, topic: t, notice }, Ko) => {
                format!("{day}일 당번이 없습니다{}. {notice}", topic(t, " · "))
            }
            (FilesNeedFixing { day, topic: t, finding }, En) => format!(
                "On call today (day {day}){}: the files need fixing: {finding}",
                topic(t, " for ")
            ),
            (FilesNeedFixing { day, topic: t, finding }, Ja) => {
                format!("本日 ({day} 日) の当番{}: ファイルの修正が必要です: {finding}", topic(t, " ・"))
            }
            (FilesNeedFixing { day, topic: t, finding }, Ko) => {
                format!("오늘({day}일) 당번{}: 파일 수정이 필요합니다: {finding}", topic(t, " · "))
            }
            (NotAllowed { verb, why }, lang) => not_allowed(verb, *why, lang),
            (SilenceRefused { why }, En) => format!("Not silenced: {why}."),
            (SilenceRefused { why }, Ja) => format!("サイレンスにできません: {why}。"),
            (SilenceRefused { why }, Ko) => format!("사일런스를 만들 수 없습니다: {why}."),
            (Silenced { id, until, what }, En) => format!("Silenced {what} until {until} (id {id}; `unsilence {id}` ends it)."),
            (Silenced { id, until, what }, Ja) => format!("{what} を {until} までサイレンスにしました (id {id}、`unsilence {id}` で解除)。"),
            (Silenced { id, until, what }, Ko) => format!("{what}을(를) {until}까지 사일런스로 설정했습니다 (id {id}, `unsilence {id}`로 해제)."),
            (Silences { n }, En) => format!("Silences (active, and ended in the last 7 days): {n}"),
            (Silences { n }, Ja) => format!("サイレンス (有効なものと 7 日以内に終わったもの): {n}"),
            (Silences { n }, Ko) => format!("사일런스 (활성, 최근 7일 내 종료): {n}"),
            (Unsilenced { id }, En) => format!("Silence {id} ended; what it held back stays unsent."),
            (Unsilenced { id }, Ja) => format!("サイレンス {id} を終了しました。保留した通知は送りません。"),
            (Unsilenced { id }, Ko) => format!("사일런스 {id}을(를) 종료했습니다. 보류된 알림은 보내지 않습니다."),
            (NoSilence { id }, En) => format!("No active silence {id}."),
            (NoSilence { id }, Ja) => format!("有効なサイレンス {id} はありません。"),
            (NoSilence { id }, Ko) => format!("활성 사일런스 {id}이(가) 없습니다."),
        }
    }
}

/// Why `verb` was refused, and what would allow it.
fn not_allowed(verb: &str, why: crate::access::Refusal, lang: Language) -> String {
    use crate::access::Refusal::{NoResponders, NotHere, NotResponder};
    match (why, lang) {
        (NoResponders, Language::En) => {
            format!("Only responders may `{verb}`, and none are configured (access.responders).")
        }
        (NoResponders, Language::Ja) => format!(
            "`{verb}` はレスポンダーだけが使えますが、レスポンダーが設定されていません (access.responders)。"
        ),
        (NoResponders, Language::Ko) => format!(
            "`{verb}`은(는) 응답자만 사용할 수 있지만 응답자가 설정되어 있지 않습니다 (access.responders)."
        ),
        (NotResponder, Language::En) => {
            format!("Only responders may `{verb}`: you are not one (access.responders).")
        }
        (NotResponder, Language::Ja) => format!(
            "`{verb}` はレスポンダーだけが使えます: あなたはレスポンダーではありません (access.responders)。"
        ),
        (NotResponder, Language::Ko) => format!(
            "`{verb}`은(는) 응답자만 사용할 수 있습니다: 응답자가 아닙니다 (access.responders)."
        ),
        (NotHere, Language::En) => {
            format!("Responders may `{verb}` only from the spaces in access.spaces.")
        }
        (NotHere, Language::Ja) => {
            format!("`{verb}` は access.spaces のスペースからだけ使えます。")
        }
        (NotHere, Language::Ko) => {
            format!("`{verb}`은(는) access.spaces의 스페이스에서만 사용할 수 있습니다.")
        }
    }
}
