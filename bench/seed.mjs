// Bench data: SQL that inserts members straight into the `members` table. The triggers of
// migrations/0011_covering-index-rows.sql fill member_labels, member_label_pairs and
// member_search as they would for members added through the API; ids come from the
// Worker's own newId.
import { newId } from "../worker/lib/ids.ts";

export const LABELS = [
  "vip",
  "trial",
  "beta",
  "newsletter",
  "enterprise",
  "churn-risk",
  "partner",
  "onboarding",
  "events",
  "feedback",
];

const FIRST = (
  "olivia liam emma noah ava mark maria martin marco mia lucas sofia ethan amelia james isabella oliver " +
  "charlotte elijah harper william evelyn henry abigail alexander emily daniel ella mateo scarlett jack " +
  "grace samuel chloe david zoe joseph nora leo hannah owen lily gabriel aria julian layla ezra riley " +
  "hugo ines yuki aiko chen wei priya arjun fatima omar sven astrid"
).split(" ");
const LAST = (
  "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez " +
  "wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark " +
  "ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams " +
  "nelson baker hall rivera campbell mitchell carter roberts marsh marshall okafor tanaka kim park " +
  "novak schmidt fischer rossi dubois lindqvist haddad kowalski silva costa murphy kelly byrne walsh"
).split(" ");
const AREAS = ["212", "312", "415", "617", "646", "702", "206", "305", "512", "718"];
const EXCHANGES = ["555", "201", "302", "404", "613", "720", "818", "929"];
const DOMAINS = ["example.com", "example.org", "mail.test", "corp.test"];

const capital = (s) => s[0].toUpperCase() + s.slice(1);
const quote = (v) => (v === null ? "NULL" : `'${String(v).replaceAll("'", "''")}'`);

/** A deterministic PRNG (mulberry32) so every run seeds the same shape of data. */
function random(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` members of `workspaceId`, oldest first, as INSERT statements of `perStatement`
 * rows (D1 caps a statement at 100 KB). Roles: 3% manager, 12% `customRole` (a team role),
 * the rest user; statuses: 85% active, 10% archived, 5% invited; 0-3 labels each.
 */
export function seedSql({ workspaceId, customRole, count, perStatement = 100, now = Date.now() }) {
  const rand = random(42);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const start = now - count * 30_000;
  const statements = [];
  let rows = [];
  let phones = 0;
  for (let i = 0; i < count; i++) {
    const at = start + i * 30_000 + Math.floor(rand() * 29_000);
    const first = pick(FIRST);
    const last = pick(LAST);
    const r = rand();
    const [role, type] = r < 0.03 ? ["manager", "team"] : r < 0.15 ? [customRole, "team"] : ["user", "customer"];
    const s = rand();
    const status = s < 0.85 ? "active" : s < 0.95 ? "archived" : "invited";
    const labelCount = [0, 0, 0, 1, 1, 1, 1, 2, 2, 3][Math.floor(rand() * 10)];
    const labels = new Set();
    while (labels.size < labelCount) labels.add(pick(LABELS));
    const email = rand() < 0.95 ? `${first}.${last}.${i.toString(36)}@${pick(DOMAINS)}` : null;
    let phone = null;
    if (rand() < 0.7) {
      const k = phones++;
      const line = String(Math.floor(k / 80)).padStart(4, "0");
      phone = `+1${AREAS[k % 10]}${EXCHANGES[Math.floor(k / 10) % 8]}${line}`;
    }
    const externalId = !email && !phone ? `crm-${i}` : rand() < 0.2 ? `crm-${i}` : null;
    const iso = new Date(at).toISOString();
    const values = [
      newId("mem", at),
      workspaceId,
      `${capital(first)} ${capital(last)}`,
      email,
      phone,
      phone?.slice(2) ?? null,
      externalId,
      null,
      role,
      type,
      status,
      JSON.stringify([...labels].sort()),
      iso,
      iso,
    ];
    rows.push(`(${values.map(quote).join(", ")})`);
    if (rows.length === perStatement || i === count - 1) {
      statements.push(
        `INSERT INTO members (id, workspace_id, name, email, phone, phone_national, external_id, description, role, type, status, labels, created_at, updated_at) VALUES\n${rows.join(",\n")};`,
      );
      rows = [];
    }
  }
  return `${statements.join("\n")}\n`;
}
