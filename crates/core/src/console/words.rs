//! The console's words in English, Japanese and Korean, and the language a request reads in.

use crate::locale::Language;

/// The browser's first supported language (`Accept-Language`, by quality), else `configured`.
pub fn language(accept: Option<&str>, configured: Language) -> Language {
    let Some(accept) = accept else {
        return configured;
    };
    let mut ranked: Vec<(f32, Language)> = accept
        .split(',')
        .filter_map(|part| {
            let mut fields = part.split(';');
            let tag = fields.next()?.trim().to_ascii_lowercase();
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q=")?.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next()?;
            Some((q, Language::parse(primary).filter(|_| !primary.is_empty())?))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.first().map_or(configured, |(_, l)| *l)
}

macro_rules! words {
    ($($name:ident: $en:literal, $ja:literal, $ko:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Word { $($name,)* }

        impl Word {
            pub fn in_(self, language: Language) -> &'static str {
                match (self, language) {
                    $((Word::$name, Language::En) => $en,
                      (Word::$name, Language::Ja) => $ja,
                      (Word::$name, Language::Ko) => $ko,)*
                }
            }
        }
    };
}

words! {
    Now: "Now", "現在", "현재";
    History: "History", "履歴", "기록";
    OnCall: "On call", "当番", "당번";
    Silences: "Silences", "サイレンス", "사일런스";
    Routes: "Routes", "ルート", "라우트";
    Health: "Health", "稼働状況", "상태";
    NotFound: "No such page.", "ページがありません。", "페이지가 없습니다.";
    Unavailable: "The store cannot be read now", "ストアを読めません", "저장소를 읽을 수 없습니다";
    BadToken: "Refused: the form's security token is missing or wrong. Reload the page and try again.", "拒否: フォームのセキュリティトークンがないか正しくありません。ページを再読み込みしてください。", "거부: 양식의 보안 토큰이 없거나 올바르지 않습니다. 페이지를 새로 고치세요.";
    NotResponder: "Refused: only responders may ack, silence or redrive.", "拒否: 確認・サイレンス・再送は対応者のみ可能です。", "거부: 응답자만 확인, 사일런스, 재전송을 할 수 있습니다.";
    OpenProblems: "Open problems", "未解決の問題", "미해결 문제";
    NoProblems: "Nothing is wrong now.", "現在問題はありません。", "현재 문제가 없습니다.";
    Escalations: "Escalations", "エスカレーション", "에스컬레이션";
    NoEscalations: "Nobody is being called.", "呼び出し中の人はいません。", "호출 중인 사람이 없습니다.";
    Ack: "Ack", "確認", "확인";
    Step: "Step", "ステップ", "단계";
    Calling: "Calling", "呼び出し中", "호출 중";
    NextStep: "Next step in", "次のステップまで", "다음 단계까지";
    Process: "Process", "プロセス", "프로세스";
    State: "State", "状態", "상태";
    Since: "Since", "発生", "발생";
    Channels: "Channels", "チャンネル", "채널";
    Folder: "Folder", "フォルダー", "폴더";
    Tenant: "Tenant", "テナント", "테넌트";
    Source: "Source", "ソース", "소스";
    Time: "Time", "時刻", "시각";
    Filter: "Filter", "絞り込み", "필터";
    Older: "Older", "さらに古い", "이전";
    NoEvents: "No events match.", "該当するイベントはありません。", "일치하는 이벤트가 없습니다.";
    RoutedNowhere: "routed nowhere", "送信先なし", "전송 대상 없음";
    Message: "What the channel got", "チャンネルへの内容", "채널이 받은 내용";
    Outcome: "Outcome", "結果", "결과";
    SignOut: "Sign out", "ログアウト", "로그아웃";
    From: "From", "開始", "시작";
    Until: "Until", "終了", "종료";
    Preview: "Preview", "プレビュー", "미리 보기";
    Save: "Save", "保存", "저장";
    Expire: "Expire", "終了させる", "종료";
    WouldHold: "Recent events it would have held", "保留されていた最近のイベント", "보류되었을 최근 이벤트";
    HoldsNothing: "It would have held none of the last day's events.", "直近1日のイベントは保留されません。", "최근 하루의 이벤트는 보류되지 않습니다.";
    SilenceHelp: "As in chat: process=Invoice* folder=Shared channel=ops-slack for 2h comment", "チャットと同じ書式: process=Invoice* folder=Shared channel=ops-slack for 2h コメント", "채팅과 같은 형식: process=Invoice* folder=Shared channel=ops-slack for 2h 코멘트";
    Active: "active", "有効", "활성";
    Ended: "ended", "終了", "종료됨";
    By: "by", "作成者", "작성자";
    NoSilences: "No silences.", "サイレンスはありません。", "사일런스가 없습니다.";
    Route: "Route", "ルート", "라우트";
    Matches: "Matches", "条件", "조건";
    TestEvent: "Test an event", "イベントを試す", "이벤트 테스트";
    TestHelp: "Paste an Orchestrator webhook body or an SNS event: where would it go?", "Orchestrator の Webhook 本文か SNS イベントを貼り付けると、送信先を表示します。", "Orchestrator 웹훅 본문이나 SNS 이벤트를 붙여 넣으면 전송 대상을 보여 줍니다.";
    Try: "Show", "表示", "보기";
    LastPoll: "Last complete poll", "最後の完全なポーリング", "마지막 완전한 폴링";
    Never: "never", "なし", "없음";
    Ago: "ago", "前", "전";
    Queue: "Queue", "キュー", "큐";
    Pending: "pending", "待機中", "대기";
    Dead: "dead", "デッドレター", "데드레터";
    Redrive: "Redrive", "再送", "재전송";
    Floods: "Flood windows open", "開いているフラッド窓", "열린 플러드 창";
    NoFloods: "No flood now.", "フラッドはありません。", "플러드가 없습니다.";
    LastDelivery: "Last delivery (24 h)", "最後の配信 (24時間)", "마지막 전달 (24시간)";
    Today: "On call now", "現在の当番", "현재 당번";
    Calendar: "This month", "今月", "이번 달";
    Plan: "Call plan", "呼び出し計画", "호출 계획";
    Day: "Day", "日", "일";
    NoOncall: "On-call calling is not configured here.", "電話エスカレーションは設定されていません。", "전화 에스컬레이션이 설정되어 있지 않습니다.";
    Gap: "no group", "担当なし", "담당 없음";
    SignedIn: "Signed in as", "ログイン中", "로그인";
    Done: "Done.", "完了しました。", "완료했습니다.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_wins_when_supported() {
        let ja = Some("ja,en-US;q=0.9,en;q=0.8");
        assert_eq!(language(ja, Language::En), Language::Ja);
        assert_eq!(
            language(Some("en;q=0.5, ko-KR"), Language::Ja),
            Language::Ko
        );
        assert_eq!(language(Some("fr-FR, de"), Language::Ja), Language::Ja);
        assert_eq!(language(None, Language::Ko), Language::Ko);
        assert_eq!(Word::Now.in_(Language::Ja), "現在");
    }
}
