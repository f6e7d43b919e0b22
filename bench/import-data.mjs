// The CSV of bench:import and bench:isolation (member rows with every identifier, a few
// labels and descriptions); both upload it with ./http.mjs.
import { once } from "node:events";
import { createWriteStream, statSync } from "node:fs";

const FIRST =
  "olivia liam emma noah ava mark maria martin mia lucas sofia ethan amelia james grace hugo ines yuki priya omar"
    .split(" ")
    .map((n) => n[0].toUpperCase() + n.slice(1));
const LAST =
  "smith garcia miller davis lopez wilson taylor moore martin lee white clark young king scott green baker kim"
    .split(" ")
    .map((n) => n[0].toUpperCase() + n.slice(1));
const LABEL_SETS = ["", "vip", "beta", "newsletter", '"vip,newsletter"', '"beta,partner"', "", ""];
const DESCRIPTIONS = ["", "", "Met at the spring fair", '"Prefers SMS, not email"', "Referred by a friend"];

/** Row i of every dataset: identifiers unique by i, phones valid (+1 415 NXX XXXX). */
function csvRow(i) {
  const first = FIRST[i % FIRST.length];
  const last = LAST[Math.floor(i / FIRST.length) % LAST.length];
  const phone = `+1415${200 + Math.floor(i / 10_000)}${String(i % 10_000).padStart(4, "0")}`;
  const email = `${first}.${last}.${i}@bench.test`.toLowerCase();
  return `${email},${phone},ext-${i},${first} ${last},${DESCRIPTIONS[i % DESCRIPTIONS.length]},${LABEL_SETS[i % LABEL_SETS.length]}\r\n`;
}

/** Streams `rows` rows to `file` a batch at a time, waiting whenever the stream is full; answers its size. */
export async function writeCsv(file, rows) {
  const out = createWriteStream(file);
  out.write("email,phone,external_id,name,description,labels\r\n");
  for (let i = 0; i < rows; i += 1000) {
    let batch = "";
    for (let j = i; j < Math.min(rows, i + 1000); j++) batch += csvRow(j);
    if (!out.write(batch)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return statSync(file).size;
}
