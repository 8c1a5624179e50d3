//! The diagnosis's words: each item's name, title and next step, its evidence and the verdict,
//! in Japanese for a Japanese program, else in English.

/// The words of one language.
pub struct Words {
    ja: bool,
}

static JA: Words = Words { ja: true };
static EN: Words = Words { ja: false };

/// The words for a program whose default language is `language`.
pub fn words(language: &str) -> &'static Words {
    if language.starts_with("ja") {
        &JA
    } else {
        &EN
    }
}

/// (key, Japanese title, English title, Japanese next step, English next step).
type Item = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const ITEMS: [Item; 15] = [
    ("attributes_captured", "属性情報が取得できている", "Attributes are captured",
     "フォームに会社名・業種・役職の項目を設け、既存リードの属性を補完する。",
     "Ask for company, industry and title in your forms, and fill them in for existing leads."),
    ("web_behaviour_tracked", "Web行動が取得できている", "Web behaviour is tracked",
     "全ページに kindling.js を入れ、フォームに data-kindling-form を付けて閲覧履歴をリードに結び付ける。",
     "Load kindling.js on every page and mark forms with data-kindling-form, so visits join the lead."),
    ("opens_clicks_stored", "開封・クリックが記録されている", "Opens and clicks are stored",
     "メールに {{ link(\"...\") }} でリンクを入れ、開封とクリックを記録する。",
     "Mark links with {{ link(\"...\") }} so opens and clicks are recorded."),
    ("stages_defined", "購買ステージが定義され、リードが振り分けられている", "Buying stages are defined and populated",
     "[[stages]] に 認知→興味→比較検討→決定 の条件を書き、リードを振り分ける。",
     "Write [[stages]] for awareness, interest, consideration and decision, so leads are placed."),
    ("segments_defined", "セグメントが定義されている", "Segments are defined",
     "[[segments]] に 業種×役職×行動 などのセグメントを定義する。",
     "Define [[segments]] such as industry × title × behaviour."),
    ("content_per_segment", "セグメントごとのコンテンツがある", "Each segment has its own content",
     "各セグメント向けのメール(セグメントメール、または entered_segment トリガーのシーケンス)を用意する。",
     "Give each segment its own mail: a segment broadcast, or a sequence an entered_segment trigger enrolls into."),
    ("content_fresh", "コンテンツが直近90日に更新されている", "Content was refreshed in the last 90 days",
     "ニュースレターやセグメントメールを新たに作成し、配信する。",
     "Write and send a new newsletter or segment mail."),
    ("ab_test_running", "件名のA/Bテストを実施している", "A subject A/B test is running",
     "ステップに ab = { with = [...] } を設定するか、配信に --ab-subject を付けて件名をテストする。",
     "Add ab = { with = [...] } to a step, or --ab-subject to a broadcast, to test subjects."),
    ("open_ctr_targets", "開封率・CTRの目標がある", "Open-rate and CTR targets are set",
     "[kpis] に open_rate と ctr の目標を書く。",
     "Set open_rate and ctr in [kpis]."),
    ("mql_opportunity_targets", "MQL数・商談化率の目標がある", "MQL and opportunity targets are set",
     "[kpis] に mqls_per_month と opportunity_rate の目標を書く。",
     "Set mqls_per_month and opportunity_rate in [kpis]."),
    ("kpis_monitored", "KPIを定期的に確認している(週次ダイジェスト)", "KPIs are monitored (the weekly digest is on)",
     "[digest] に宛先を書き、毎週月曜のKPIダイジェストを受け取る。",
     "Set [digest] to = [...] to get the KPI digest every Monday."),
    ("sales_alerted", "ホットリードが営業に通知されている", "Sales receives hot-lead alerts",
     "通知先(AWS では SNS トピックの購読、ローカルでは alerts.jsonl)を確認し、届かなかった通知を再送する。",
     "Check where alerts go (the SNS topic's subscriptions on AWS, alerts.jsonl locally)."),
    ("crm_sync", "CRM(SFA)と同期している", "The CRM (SFA) is in sync",
     "[crm] を設定し(ローカルは webhook_url、AWS は crmSync)、kindling sync status で配信と失敗を確認する。",
     "Set up [crm] (webhook_url locally, crmSync on AWS) and check deliveries and failures with kindling sync status."),
    ("unsubscribe_monitored", "配信停止率を監視している", "The unsubscribe rate is monitored",
     "[kpis] に max_unsubscribe_rate の上限を書く。",
     "Set max_unsubscribe_rate in [kpis]."),
    ("scoring_rules", "スコアリングルールがある", "Scoring rules are set",
     "[[scoring.rules]] に行動ごとの点数を書く(例: 価格ページ +15、資料DL +10)。",
     "Write [[scoring.rules]]: points per behaviour (pricing page +15, download +10)."),
];

impl Words {
    fn say(&self, ja: String, en: String) -> String {
        if self.ja {
            ja
        } else {
            en
        }
    }

    /// Item `n` (from 1): its key, title and next step.
    pub fn item(&self, n: usize) -> (&'static str, &'static str, &'static str) {
        let (key, tja, ten, nja, nen) = ITEMS[(n - 1) % ITEMS.len()];
        if self.ja {
            (key, tja, nja)
        } else {
            (key, ten, nen)
        }
    }

    /// The verdict's words.
    pub fn verdict(&self, v: &str) -> &'static str {
        match (v, self.ja) {
            ("ready", true) => "基盤は整っている: KPIの改善に進む",
            ("ready", false) => "The foundation is in place: work on the KPIs",
            ("gaps", true) => "一部に課題あり: 未達の項目から対応する",
            ("gaps", false) => "Some gaps: fix the unchecked items first",
            (_, true) => "基盤から見直し: データの取得から始める",
            (_, false) => "Rebuild the foundation: start from the data",
        }
    }

    pub fn attributes(&self, full: usize, of: usize, pct: &str) -> String {
        self.say(
            format!("会社名・業種・役職がそろったリード {full}/{of} ({pct})"),
            format!("{full} of {of} leads have company, industry and title ({pct})"),
        )
    }

    pub fn web(&self, tracked: u64, new: u64, visits: u64) -> String {
        self.say(
            format!("直近90日の新規リード {new} 件中 {tracked} 件が閲覧履歴つき、キャンペーン経由の閲覧 {visits} 件"),
            format!("{tracked} of {new} new leads in 90 days came with their visits; {visits} campaign visits"),
        )
    }

    pub fn opens(&self, sent: u64, opened: u64, clicked: u64, machine: u64) -> String {
        self.say(
            format!("直近90日: 配信 {sent} 通、人による開封 {opened} 通・クリック {clicked} 通(機械のアクセス {machine} 件は除外)"),
            format!("90 days: {sent} sent, {opened} opened and {clicked} clicked by people ({machine} machine hits left out)"),
        )
    }

    pub fn stages(&self, defined: usize, at: &str, staged: usize, of: usize) -> String {
        self.say(
            format!("ステージ {defined} 個 ({at})、ステージのあるリード {staged}/{of}"),
            format!("{defined} stages ({at}); {staged} of {of} leads have one"),
        )
    }

    pub fn segments(&self, n: usize, at: &str) -> String {
        self.say(
            format!("セグメント {n} 個 ({at})"),
            format!("{n} segments ({at})"),
        )
    }

    pub fn content(&self, served: usize, of: usize, missing: &[&str]) -> String {
        let rest = missing.join(", ");
        self.say(
            format!(
                "専用メールのあるセグメント {served}/{of}{}",
                if rest.is_empty() {
                    String::new()
                } else {
                    format!("(なし: {rest})")
                }
            ),
            format!(
                "{served} of {of} segments have their own mail{}",
                if rest.is_empty() {
                    String::new()
                } else {
                    format!(" (none: {rest})")
                }
            ),
        )
    }

    pub fn fresh(&self, n: usize, newest: Option<String>) -> String {
        let newest = newest.unwrap_or_else(|| "-".into());
        self.say(
            format!("直近90日に作成した配信 {n} 件(最新 {newest})"),
            format!("{n} broadcasts created in 90 days (newest {newest})"),
        )
    }

    pub fn ab(&self, steps: &[String], at: &str, broadcasts: usize) -> String {
        let s = if steps.is_empty() {
            "-".to_owned()
        } else {
            format!("{} ({at})", steps.join(", "))
        };
        self.say(
            format!("A/Bテストのあるステップ: {s}、直近90日のA/Bつき配信 {broadcasts} 件"),
            format!("steps with an A/B test: {s}; {broadcasts} broadcasts with one in 90 days"),
        )
    }

    pub fn digest(&self, on: Option<(usize, &str)>) -> String {
        match on {
            Some((n, at)) => self.say(
                format!("週次ダイジェスト: {n} 宛先 ({at})"),
                format!("weekly digest to {n} addresses ({at})"),
            ),
            None => self.say("[digest] なし".into(), "no [digest]".into()),
        }
    }

    pub fn alerts(&self, hot: u64, alerted: u64, hours: i64) -> String {
        self.say(
            format!("直近90日のホット化 {hot} 件、営業へ通知 {alerted} 件(フォロー期限 {hours} 時間)"),
            format!("{hot} hot crossings in 90 days, {alerted} alerted to sales (follow up within {hours} h)"),
        )
    }

    pub fn crm_off(&self) -> String {
        self.say(
            "[crm] の設定なし(CRM へは何も送られない)".into(),
            "no [crm] section (nothing goes to a CRM)".into(),
        )
    }

    pub fn crm_unseen(&self, at: &str) -> String {
        self.say(
            format!("{at} [crm] あり、ただし送信先が未設定(AWS は crmSync)"),
            format!("{at} [crm] is set, but no CRM target is (crmSync on AWS)"),
        )
    }

    pub fn crm(
        &self,
        at: &str,
        target: &str,
        delivered: Option<u64>,
        last: Option<&str>,
        dead: u64,
    ) -> String {
        let n = delivered.map_or_else(|| "-".to_owned(), |n| n.to_string());
        let last = last.unwrap_or("-");
        self.say(
            format!("{at} → {target}: 配信 {n} 件、最終成功 {last}、デッドレター {dead} 件"),
            format!("{at} → {target}: {n} delivered, last success {last}, {dead} dead"),
        )
    }

    pub fn unsubscribe(&self, target: &str, actual: Option<&str>) -> String {
        let actual = actual.unwrap_or("-");
        self.say(
            format!("{target}、直近90日の実績 {actual}"),
            format!("{target}; {actual} in 90 days"),
        )
    }

    pub fn scoring(&self, rules: usize, fit: usize, hot: i64, at: &str) -> String {
        self.say(
            format!("行動ルール {rules} 個・属性ルール {fit} 個 ({at})、ホット {hot} 点以上"),
            format!("{rules} behaviour and {fit} fit rules ({at}); hot from {hot}"),
        )
    }
}
