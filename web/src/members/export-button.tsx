import { useState } from "preact/hooks";
import { api, errorMessage, ok } from "../app/api";
import { type Filters, listQuery } from "./filters";

/** `members-2026-12-08.csv`, or the name the answer's Content-Disposition gives. */
function fileName(response: Response) {
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1];
  return named ?? `members-${new Date().toISOString().slice(0, 10)}.csv`;
}

/**
 * Export: every member the page's filters match (tab, status, type, role, label, search)
 * as a CSV the import takes back, downloaded as a file. Fetched rather than linked, so the
 * request carries the view's read bookmark and the file holds every change the page shows.
 */
export function ExportButton({ filters, onNotice }: { filters: Filters; onNotice: (text: string) => void }) {
  const [busy, setBusy] = useState(false);
  async function download() {
    setBusy(true);
    onNotice("Exporting…");
    try {
      let response: Response | undefined;
      const blob = await ok(
        api
          .GET("/v1/members/export", {
            params: { query: { ...listQuery(filters), format: "csv" } },
            parseAs: "blob",
          })
          .then((answer) => {
            response = answer.response;
            return answer;
          }),
      );
      const name = response ? fileName(response) : "members.csv";
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob as unknown as Blob);
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      onNotice(`Downloaded ${name}.`);
    } catch (error) {
      onNotice(`The export failed: ${errorMessage(error)}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" class="secondary" disabled={busy} onClick={download}>
      {busy ? "Exporting…" : "Export CSV"}
    </button>
  );
}
