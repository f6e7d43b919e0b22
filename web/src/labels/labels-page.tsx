import { useState } from "preact/hooks";
import type { ListedLabel } from "../app/api";
import { DeleteLabelDialog, LabelDialog } from "./label-dialogs";
import { Swatch } from "./use-labels";

type Dialog = { kind: "new" } | { kind: "edit"; label: ListedLabel } | { kind: "delete"; label: ListedLabel } | null;

/**
 * Labels: every label with its color and how many members hold it; new, edit and delete.
 * The list is the admin view's live labels (./use-labels.tsx): another admin's changes
 * show here as their events arrive.
 */
export function LabelsPage({ labels }: { labels: readonly ListedLabel[] }) {
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState("");
  const done = (text: string) => {
    setDialog(null);
    setNotice(text);
  };
  return (
    <section aria-labelledby="labels-title">
      <div class="page-head">
        <h1 id="labels-title" tabIndex={-1}>
          Labels
        </h1>
        <div class="actions">
          <button type="button" onClick={() => setDialog({ kind: "new" })}>
            New label
          </button>
        </div>
      </div>
      <output class="notice" aria-live="polite">
        {notice}
      </output>
      {labels.length === 0 ? (
        <p>No labels yet. Labels group members for filters, conditions and actions.</p>
      ) : (
        <table class="labels">
          <caption class="visually-hidden">Labels, by name</caption>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Slug</th>
              <th scope="col">Description</th>
              <th scope="col" class="number">
                Members
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {labels.map((label) => (
              <tr key={label.slug} data-label={label.slug}>
                <th scope="row">
                  <Swatch color={label.color} />
                  {label.name}
                </th>
                <td>
                  <code>{label.slug}</code>
                </td>
                <td>{label.description ?? "—"}</td>
                <td class="number">{label.holders.toLocaleString()}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Edit label ${label.name}`}
                    onClick={() => setDialog({ kind: "edit", label })}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Delete label ${label.name}`}
                    onClick={() => setDialog({ kind: "delete", label })}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog?.kind === "new" ? (
        <LabelDialog onClose={() => setDialog(null)} onDone={(name) => done(`Created label ${name}.`)} />
      ) : null}
      {dialog?.kind === "edit" ? (
        <LabelDialog
          label={dialog.label}
          onClose={() => setDialog(null)}
          onDone={(name) => done(`Saved label ${name}.`)}
        />
      ) : null}
      {dialog?.kind === "delete" ? (
        <DeleteLabelDialog label={dialog.label} onClose={() => setDialog(null)} onDone={done} />
      ) : null}
    </section>
  );
}
