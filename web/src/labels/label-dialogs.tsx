import { useState } from "preact/hooks";
import { api, type ListedLabel, ok } from "../app/api";
import { ConfirmDialog } from "../ui/confirm-dialog";
import { Dialog } from "../ui/dialog";
import { Field, FormError, SubmitButton } from "../ui/field";
import { useSubmit } from "../ui/form";

/** The color a new label starts with (the API's default too). */
const DEFAULT_COLOR = "#64748b";

/** New label, or Edit of one (name, color, description; the slug stays). */
export function LabelDialog(props: { label?: ListedLabel; onClose: () => void; onDone: (name: string) => void }) {
  const { label } = props;
  const [form, setForm] = useState({
    name: label?.name ?? "",
    color: label?.color.toLowerCase() ?? DEFAULT_COLOR,
    description: label?.description ?? "",
  });
  const { busy, errors, formError, run } = useSubmit();
  const set = (patch: Partial<typeof form>) => setForm((f) => ({ ...f, ...patch }));
  async function submit(event: Event) {
    event.preventDefault();
    const done = label
      ? await run(() =>
          ok(
            api.PATCH("/v1/labels/{slug}", {
              params: { path: { slug: label.slug } },
              body: {
                name: form.name,
                color: form.color,
                description: form.description.trim() ? form.description : null,
              },
            }),
          ),
        )
      : await run(() =>
          ok(
            api.POST("/v1/labels", {
              body: { name: form.name, color: form.color, description: form.description.trim() || undefined },
            }),
          ),
        );
    if (done) props.onDone(done.name);
  }
  return (
    <Dialog title={label ? `Edit label ${label.name}` : "New label"} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <FormError message={formError} />
        <Field
          label="Name"
          name="name"
          required
          value={form.name}
          error={errors.name ?? errors.slug}
          onInput={(name) => set({ name })}
        />
        <Field
          label="Color"
          name="color"
          type="color"
          value={form.color}
          error={errors.color}
          onInput={(color) => set({ color })}
        />
        <Field
          label="Description"
          name="description"
          rows={3}
          value={form.description}
          error={errors.description}
          onInput={(description) => set({ description })}
        />
        <div class="dialog-actions">
          <SubmitButton busy={busy} label={label ? "Save" : "Create label"} />
        </div>
      </form>
    </Dialog>
  );
}

const members = (n: number) => `${n.toLocaleString()} ${n === 1 ? "member" : "members"}`;

/** Delete a label, saying how many members lose it. */
export function DeleteLabelDialog(props: {
  label: ListedLabel;
  onClose: () => void;
  onDone: (notice: string) => void;
}) {
  const { label } = props;
  return (
    <ConfirmDialog
      title={`Delete label ${label.name}?`}
      confirm="Delete label"
      busyLabel="Deleting…"
      // 204 (no body): gone from every holder; 202: the holders left are unlabeled in the background.
      act={async () => {
        const left = await ok(api.DELETE("/v1/labels/{slug}", { params: { path: { slug: label.slug } } }));
        return (left as { holders?: number } | undefined)?.holders ?? 0;
      }}
      onClose={props.onClose}
      onDone={(holders) =>
        props.onDone(
          holders > 0
            ? `Deleted label ${label.name}; removing it from ${members(holders)}.`
            : `Deleted label ${label.name}.`,
        )
      }
    >
      <p>
        {label.holders > 0 ? `It will be removed from ${members(label.holders)}.` : "No member holds it."} Conditions
        and actions naming <code>{label.slug}</code> will no longer match it. This cannot be undone.
      </p>
    </ConfirmDialog>
  );
}
