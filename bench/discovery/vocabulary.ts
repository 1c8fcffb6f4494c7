/**
 * The vocabulary of the synthetic catalog (`catalog.ts`): what real MCP
 * servers offer, as entities with the verbs that apply to them, and the fifty
 * products that hold them. Hand-written so the descriptions read like real
 * tools' (the labelled queries in `queries.json` are written against them).
 * Kept as compact rows (one per entity or product) so the data stays readable.
 */

/** One kind of thing a product manages: name, plural, a gloss, its fields, and the five verbs its tools do. */
export interface Entity {
  name: string;
  plural: string;
  gloss: string;
  fields: string[];
  verbs: string[];
}

/** A product: id (tool name prefix), display name, what it is, and the four entities it manages. */
export interface Product {
  id: string;
  name: string;
  kind: string;
  entities: string[];
}

/** key: "name|plural|gloss|fields|verbs" (fields and verbs space-separated; fields become argument names). */
const ENTITY_ROWS: Record<string, string> = {
  issue:
    "issue|issues|a bug report or task tracked in a repository|repo title body labels|create get list close comment",
  pull_request:
    "pull request|pull requests|a proposed code change for review|repo head_branch base_branch title|create get list merge review",
  repository:
    "repository|repositories|a git repository with its code and history|owner name visibility|create get list archive delete",
  release: "release|releases|a tagged, published version of the software|repo tag notes|create get list publish delete",
  merge_request:
    "merge request|merge requests|a proposed code change waiting for approval|project source_branch target_branch|create get list approve merge",
  pipeline: "pipeline|pipelines|a CI/CD run of build, test and deploy jobs|project ref|run get list cancel retry",
  ticket:
    "ticket|tickets|a work item on a project board|project_key summary assignee priority|create get search assign transition",
  sprint: "sprint|sprints|a time-boxed iteration of planned work|board goal start_date|create get list start close",
  message:
    "message|messages|a chat message posted to a channel or a person|channel text thread_ts|send get search update delete",
  channel: "channel|channels|a chat room where a team talks|name topic private|create get list archive invite",
  email: "email|emails|an e-mail message in a mailbox|to subject body cc|send get search draft delete",
  label: "label|labels|a tag used to organise messages|name color|create get list update delete",
  event: "event|events|a meeting or appointment on a calendar|title start end attendees|create get list update cancel",
  calendar: "calendar|calendars|a shared schedule of events|name timezone|create get list update delete",
  file: "file|files|a document or binary stored in the cloud|path content mime_type|upload download list move delete",
  folder: "folder|folders|a directory that groups files|path parent|create get list share delete",
  bucket: "bucket|buckets|an object-storage container|bucket_name region|create get list update delete",
  object: "object|objects|a blob stored under a key in a bucket|bucket_name key body|put get list copy delete",
  table: "table|tables|a database table and its columns|schema table_name|create describe list truncate drop",
  query: "query|queries|a SQL statement run against the database|sql params timeout_ms|run explain list cancel save",
  customer: "customer|customers|a person or company that pays you|email name address|create get list update delete",
  payment:
    "payment|payments|a card or bank payment collected from a customer|amount_cents currency customer_id|create get list capture refund",
  invoice:
    "invoice|invoices|a bill sent to a customer for an amount due|customer_id amount_cents due_date|create get list send void",
  subscription:
    "subscription|subscriptions|a recurring billing plan a customer is on|customer_id plan interval|create get list pause cancel",
  contact:
    "contact|contacts|a person in the CRM address book|email first_name last_name phone|create get search update delete",
  deal: "deal|deals|a sales opportunity moving through the pipeline|name amount stage owner|create get list update close",
  lead: "lead|leads|a prospective customer not yet qualified|email company source|create get list qualify convert",
  support_ticket:
    "support ticket|support tickets|a customer's help request to the support team|requester_email subject priority|create get list reply solve",
  page: "page|pages|a wiki or notes page with rich text|title content parent_id|create get search update delete",
  database:
    "database|databases|a structured collection of pages with properties|title properties|create get query update delete",
  design:
    "design file|design files|a UI design document with frames and layers|file_key name|get list export comment duplicate",
  task: "task|tasks|a to-do item with an assignee and a due date|title assignee due_date project|create get list complete assign",
  card: "card|cards|a card on a kanban board column|list_id name due|create get move archive comment",
  sms: "SMS|text messages|a text message sent to a phone number|to from body|send get list schedule cancel",
  call: "phone call|phone calls|a voice call placed through the telephony API|to from twiml|create get list record hangup",
  order:
    "order|orders|a customer's purchase in the online store|order_id line_items shipping_address|create get list fulfill cancel",
  product:
    "product|products|an item for sale in the store catalog|title price sku inventory|create get list update delete",
  metric:
    "metric|metrics|a time series of measurements such as CPU or latency|query from to|query get list submit graph",
  monitor: "monitor|monitors|an alert rule that watches a metric|query threshold notify|create get list mute delete",
  incident:
    "incident|incidents|an outage or urgent problem being handled|service title urgency|create get list acknowledge resolve",
  oncall:
    "on-call schedule|on-call schedules|who is on call for a team and when|team start end|get list override page update",
  error:
    "error event|error events|an exception captured from an application with its stack trace|project issue_id environment|get list resolve ignore assign",
  pod: "pod|pods|a running group of containers in the cluster|namespace pod_name|get list logs restart delete",
  deployment:
    "deployment|deployments|a rollout of a service version to an environment|service image replicas|create get list scale rollback",
  container:
    "container|containers|a running container built from an image|image container_id ports|run inspect list stop remove",
  instance:
    "virtual machine|virtual machines|a compute instance in the cloud|instance_id instance_type region|launch describe list stop terminate",
  dns_record:
    "DNS record|DNS records|a name-to-address record in a DNS zone|zone name type content|create get list update delete",
  site: "site|sites|a deployed website or web app|project domain branch|deploy get list rollback delete",
  forecast:
    "weather forecast|weather forecasts|temperature, rain and wind predicted for a place|city days units|get list compare alert history",
  translation:
    "translation|translations|text rendered in another language|text source_lang target_lang|create detect list glossary batch",
  map_route:
    "route|routes|driving or walking directions between places|origin destination mode|get list optimize geocode distance",
  employee:
    "employee|employees|a person on the payroll with a role and a manager|employee_id department manager|create get search update offboard",
  time_off:
    "time-off request|time-off requests|a vacation or leave request awaiting approval|employee_id start_date end_date|create get list approve deny",
  survey: "survey|surveys|a form of questions sent to respondents|title questions|create get list send results",
  video: "video|videos|an uploaded video with captions and views|title file privacy|upload get list transcribe delete",
  meeting:
    "video meeting|video meetings|an online meeting with a join link|topic start_time duration|create get list record end",
  secret: "secret|secrets|a password or API key kept in the vault|path value ttl|create read list rotate delete",
  user_account:
    "user account|user accounts|a login identity in the directory|email role groups|create get list disable reset_password",
  flag: "feature flag|feature flags|a switch that turns a feature on for some users|key environment rollout_percent|create get list toggle delete",
  dashboard: "dashboard|dashboards|a board of charts and reports|title widgets|create get list share delete",
};

/** Entities by key. */
export const ENTITIES: Record<string, Entity> = Object.fromEntries(
  Object.entries(ENTITY_ROWS).map(([key, row]) => {
    const [name = "", plural = "", gloss = "", fields = "", verbs = ""] = row.split("|");
    return [key, { name, plural, gloss, fields: fields.split(" "), verbs: verbs.split(" ") }];
  }),
);

/** [id, name, kind, entity keys]: the fifty products of the 1,000-tool catalog (20 tools each). */
const PRODUCT_ROWS: Array<[string, string, string, string]> = [
  ["github", "GitHub", "code hosting", "issue pull_request repository release"],
  ["gitlab", "GitLab", "code hosting and CI", "merge_request pipeline issue repository"],
  ["jira", "Jira", "project tracking", "ticket sprint dashboard user_account"],
  ["slack", "Slack", "team chat", "message channel file user_account"],
  ["gmail", "Gmail", "e-mail", "email label contact file"],
  ["gcal", "Google Calendar", "calendar", "event calendar meeting contact"],
  ["gdrive", "Google Drive", "file storage", "file folder page user_account"],
  ["s3", "Amazon S3", "object storage", "bucket object secret user_account"],
  ["postgres", "PostgreSQL", "relational database", "table query database user_account"],
  ["snowflake", "Snowflake", "data warehouse", "query table dashboard user_account"],
  ["stripe", "Stripe", "payments", "payment customer invoice subscription"],
  ["quickbooks", "QuickBooks", "accounting", "invoice customer payment employee"],
  ["salesforce", "Salesforce", "CRM", "contact deal lead dashboard"],
  ["hubspot", "HubSpot", "marketing CRM", "contact deal email survey"],
  ["zendesk", "Zendesk", "customer support", "support_ticket contact user_account dashboard"],
  ["intercom", "Intercom", "customer messaging", "message contact support_ticket survey"],
  ["notion", "Notion", "notes and wiki", "page database task user_account"],
  ["confluence", "Confluence", "team wiki", "page folder file user_account"],
  ["figma", "Figma", "design", "design file user_account page"],
  ["linear", "Linear", "issue tracking", "issue sprint task user_account"],
  ["asana", "Asana", "work management", "task dashboard user_account survey"],
  ["trello", "Trello", "kanban boards", "card task label user_account"],
  ["twilio", "Twilio", "telephony", "sms call contact secret"],
  ["sendgrid", "SendGrid", "transactional e-mail", "email contact dashboard secret"],
  ["shopify", "Shopify", "online store", "order product customer payment"],
  ["datadog", "Datadog", "monitoring", "metric monitor dashboard incident"],
  ["pagerduty", "PagerDuty", "incident response", "incident oncall user_account monitor"],
  ["sentry", "Sentry", "error tracking", "error release user_account dashboard"],
  ["kubernetes", "Kubernetes", "container orchestration", "pod deployment secret container"],
  ["docker", "Docker", "containers", "container repository file secret"],
  ["ec2", "Amazon EC2", "cloud compute", "instance secret metric user_account"],
  ["cloudflare", "Cloudflare", "DNS and edge network", "dns_record site secret metric"],
  ["vercel", "Vercel", "web hosting", "site deployment flag secret"],
  ["openweather", "OpenWeather", "weather data", "forecast map_route metric secret"],
  ["deepl", "DeepL", "machine translation", "translation file user_account secret"],
  ["gmaps", "Google Maps", "maps and directions", "map_route forecast contact secret"],
  ["workday", "Workday", "HR", "employee time_off survey user_account"],
  ["bamboohr", "BambooHR", "HR for small teams", "employee time_off file dashboard"],
  ["typeform", "Typeform", "forms and surveys", "survey contact dashboard file"],
  ["youtube", "YouTube", "video hosting", "video channel dashboard user_account"],
  ["zoom", "Zoom", "video meetings", "meeting video user_account contact"],
  ["vault", "HashiCorp Vault", "secrets management", "secret user_account dashboard metric"],
  ["okta", "Okta", "identity and login", "user_account dashboard secret survey"],
  ["launchdarkly", "LaunchDarkly", "feature flags", "flag dashboard user_account metric"],
  ["grafana", "Grafana", "dashboards", "dashboard metric monitor user_account"],
  ["mongodb", "MongoDB", "document database", "database query table user_account"],
  ["bigquery", "BigQuery", "analytics warehouse", "query table database dashboard"],
  ["dropbox", "Dropbox", "file sync", "file folder user_account dashboard"],
  ["mailchimp", "Mailchimp", "newsletters", "email contact survey dashboard"],
  ["circleci", "CircleCI", "continuous integration", "pipeline secret dashboard user_account"],
];

/** The fifty products, in catalog order. */
export const PRODUCTS: Product[] = PRODUCT_ROWS.map(([id, name, kind, entities]) => ({
  id,
  name,
  kind,
  entities: entities.split(" "),
}));
