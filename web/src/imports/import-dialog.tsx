import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { Directory } from "../app/admin";
import { ApiError, api, errorMessage, type Import, keepBookmark, ok, sendBookmark } from "../app/api";
import { Dialog } from "../ui/dialog";
import { FormError, SelectField } from "../ui/field";

/** A progress line of the NDJSON stream: the import's counts without its errors. */
type Progress = Omit<Import, "errors" | "warnings" | "error" | "createdAt" | "updatedAt" | "completedAt">;
/** The stream's last line, and what GET /v1/imports/{id} answers. */
type Summary = Import;

/** How far along, 0..1: by rows once the total is known, by bytes read until then. */
function fraction(p: Progress): number {
  if (p.status !== "running") return 1;
  if (p.total) return Math.min(1, p.processed / p.total);
  if (p.bytes) return Math.min(1, (p.bytesProcessed ?? 0) / p.bytes);
  return 0;
}

/**
 * Import members from a CSV file: the upload answers with an NDJSON stream of progress
 * lines ending with the summary; a stream that ends early is followed on by polling.
 */
export function ImportDialog({ directory, onClose }: { directory: Directory; onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [role, setRole] = useState("user");
  const [progress, setProgress] = useState<Progress | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fileId = useId();
  const progressId = useId();
  const closed = useRef(false);
  useEffect(
    () => () => {
      closed.current = true;
    },
    [],
  );

  async function start(event: Event) {
    event.preventDefault();
    if (!file) return setFailure("Choose a CSV file to import.");
    setBusy(true);
    setFailure(null);
    setSummary(null);
    try {
      const res = await fetch(`/v1/imports?role=${encodeURIComponent(role)}`, {
        method: "POST",
        credentials: "same-origin",
        headers: sendBookmark(new Headers({ "Content-Type": "text/csv", Accept: "application/x-ndjson" })),
        body: file,
      });
      keepBookmark(res);
      if (!res.ok || !res.body) {
        const error = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new ApiError(
          res.status,
          "import",
          error?.error?.message ?? `The import could not start (${res.status}).`,
        );
      }
      let last: Progress | null = null;
      let buffered = "";
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines.filter(Boolean)) {
          const message = JSON.parse(line) as (Summary | Progress) & { type: string };
          last = message;
          setProgress(message);
          if (message.type === "summary") setSummary(message as Summary);
        }
      }
      // The stream ends after a long import's last poll: follow on until it finishes.
      while (last && last.status === "running" && !closed.current) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const now = await ok(api.GET("/v1/imports/{id}", { params: { path: { id: last.id } } }));
        last = now;
        setProgress(now);
        if (now.status !== "running") setSummary(now);
      }
    } catch (error) {
      setFailure(errorMessage(error));
    } finally {
      setBusy(false);
    }
  }

  const percent = progress ? Math.round(fraction(progress) * 100) : 0;
  return (
    <Dialog title="Import Members" onClose={onClose}>
      <form onSubmit={start} noValidate>
        <p class="hint">
          A CSV with a header row: email, phone, external_id, name, description, labels, role. Rows matching an existing
          member by email, phone or external ID update it.
        </p>
        <FormError message={failure} />
        <div class="field">
          <label for={fileId}>CSV file</label>
          <input
            id={fileId}
            type="file"
            accept=".csv,text/csv"
            onInput={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)}
          />
        </div>
        <SelectField label="Role for new members" name="role" value={role} onInput={setRole}>
          {directory.roles.map((r) => (
            <option key={r.key} value={r.key}>
              {r.name}
            </option>
          ))}
        </SelectField>
        {progress ? (
          <div class="field">
            <label for={progressId}>Import progress</label>
            <progress id={progressId} max={100} value={percent} aria-valuetext={`${percent}%`}>
              {percent}%
            </progress>
            <p class="hint" aria-live="polite">
              {progress.status === "running"
                ? `${progress.processed}${progress.total ? ` of ${progress.total}` : ""} rows`
                : progress.status === "completed"
                  ? "Import complete"
                  : "Import failed"}
            </p>
          </div>
        ) : null}
        {summary ? <ImportSummary summary={summary} /> : null}
        <div class="dialog-actions">
          {summary ? (
            <button type="button" onClick={onClose}>
              Done
            </button>
          ) : (
            <button type="submit" disabled={busy}>
              {busy ? "Importing…" : "Import"}
            </button>
          )}
        </div>
      </form>
    </Dialog>
  );
}

function ImportSummary({ summary }: { summary: Summary }) {
  return (
    <div role="status" class="import-summary">
      <p>
        {summary.created} created, {summary.updated} updated
        {summary.unchanged ? `, ${summary.unchanged} unchanged` : ""}, {summary.failed} failed.
        {summary.error ? ` ${summary.error}` : ""}
      </p>
      {summary.errors.length > 0 ? (
        <>
          <table>
            <caption>Rows that failed</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Column</th>
                <th scope="col">Value</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {summary.errors.slice(0, 50).map((e) => (
                <tr key={`${e.row}-${e.column}`}>
                  <td>{e.row}</td>
                  <td>{e.column}</td>
                  <td>{e.value}</td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <a href={`/v1/imports/${summary.id}/errors.csv`} download>
              Download the error report (CSV)
            </a>
          </p>
        </>
      ) : null}
    </div>
  );
}
