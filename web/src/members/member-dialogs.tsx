import { useState } from "preact/hooks";
import type { Directory } from "../app/admin";
import { ApiError, api, errorMessage, type Member, ok } from "../app/api";
import { Dialog } from "../ui/dialog";
import { Field, FormError, SelectField } from "../ui/field";

type Errors = Record<string, string>;

/** Submitting state plus the API's answer split into field errors and a form error. */
function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string | null>(null);
  async function run<T>(work: () => Promise<T>): Promise<T | null> {
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      return await work();
    } catch (error) {
      const fields = error instanceof ApiError ? error.fieldErrors() : {};
      if (Object.keys(fields).length > 0) {
        setErrors(fields);
        setFormError("Please correct the highlighted fields.");
        // Focus the first invalid field, so keyboard and screen-reader users land on it.
        requestAnimationFrame(() => document.querySelector<HTMLElement>("dialog [aria-invalid=true]")?.focus());
      } else if (error instanceof ApiError && error.code === "duplicate") {
        setFormError(`${error.message}`);
      } else {
        setFormError(errorMessage(error));
      }
      return null;
    } finally {
      setBusy(false);
    }
  }
  return { busy, errors, formError, run };
}

const parseLabels = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim().toLowerCase().replace(/\s+/g, "-"))
    .filter(Boolean);

function RoleOptions({ directory }: { directory: Directory }) {
  return (
    <>
      {directory.roles.map((r) => (
        <option key={r.key} value={r.key}>
          {r.name} ({r.type === "team" ? "team" : "customer"})
        </option>
      ))}
    </>
  );
}

function Buttons({ busy, submit }: { busy: boolean; submit: string }) {
  return (
    <div class="dialog-actions">
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : submit}
      </button>
    </div>
  );
}

export function AddMemberDialog(props: { directory: Directory; onClose: () => void; onDone: (m: Member) => void }) {
  const [form, setForm] = useState({ name: "", email: "", phone: "", role: "user", externalId: "", labels: "" });
  const { busy, errors, formError, run } = useSubmit();
  const set = (patch: Partial<typeof form>) => setForm((f) => ({ ...f, ...patch }));
  async function submit(event: Event) {
    event.preventDefault();
    const body = {
      name: form.name,
      email: form.email || undefined,
      phone: form.phone || undefined,
      role: form.role,
      externalId: form.externalId || undefined,
      labels: parseLabels(form.labels),
    };
    const member = await run(() => ok(api.POST("/v1/members", { body })));
    if (member) props.onDone(member);
  }
  return (
    <Dialog title="Add Member" onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <FormError message={formError} />
        <Field
          label="Name"
          name="name"
          required
          value={form.name}
          error={errors.name}
          onInput={(name) => set({ name })}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          hint="Required for members who log in"
          value={form.email}
          error={errors.email}
          onInput={(email) => set({ email })}
        />
        <Field
          label="Phone"
          name="phone"
          type="tel"
          hint="For SMS and voice calls, e.g. +1 415 555 0101"
          value={form.phone}
          error={errors.phone}
          onInput={(phone) => set({ phone })}
        />
        <SelectField label="Role" name="role" value={form.role} error={errors.role} onInput={(role) => set({ role })}>
          <RoleOptions directory={props.directory} />
        </SelectField>
        <Field
          label="External ID"
          name="externalId"
          hint="Links to your other systems"
          value={form.externalId}
          error={errors.externalId}
          onInput={(externalId) => set({ externalId })}
        />
        <Field
          label="Labels"
          name="labels"
          hint="Comma-separated, e.g. vip, new-customer"
          value={form.labels}
          error={errors.labels}
          onInput={(labels) => set({ labels })}
        />
        <Buttons busy={busy} submit="Add member" />
      </form>
    </Dialog>
  );
}

export function InviteMemberDialog(props: {
  directory: Directory;
  onClose: () => void;
  onDone: (email: string) => void;
}) {
  const team = props.directory.roles.find((r) => r.type === "team")?.key ?? "user";
  const [form, setForm] = useState({ name: "", email: "", role: team });
  const { busy, errors, formError, run } = useSubmit();
  const set = (patch: Partial<typeof form>) => setForm((f) => ({ ...f, ...patch }));
  async function submit(event: Event) {
    event.preventDefault();
    const body = { email: form.email, role: form.role, name: form.name || undefined };
    const done = await run(() => ok(api.POST("/v1/invitations", { body })));
    if (done) props.onDone(form.email);
  }
  return (
    <Dialog title="Invite Member" onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <p class="hint">They receive an email with a link to join. Invitations expire after 7 days.</p>
        <FormError message={formError} />
        <Field
          label="Email"
          name="email"
          type="email"
          required
          value={form.email}
          error={errors.email}
          onInput={(email) => set({ email })}
        />
        <Field label="Name" name="name" value={form.name} error={errors.name} onInput={(name) => set({ name })} />
        <SelectField label="Role" name="role" value={form.role} error={errors.role} onInput={(role) => set({ role })}>
          <RoleOptions directory={props.directory} />
        </SelectField>
        <Buttons busy={busy} submit="Send invitation" />
      </form>
    </Dialog>
  );
}

export function EditMemberDialog(props: {
  directory: Directory;
  member: Member;
  onClose: () => void;
  onDone: (m: Member) => void;
}) {
  const { member } = props;
  const [form, setForm] = useState({
    name: member.name,
    role: member.role,
    externalId: member.externalId ?? "",
    labels: member.labels.join(", "),
  });
  const { busy, errors, formError, run } = useSubmit();
  const set = (patch: Partial<typeof form>) => setForm((f) => ({ ...f, ...patch }));
  async function submit(event: Event) {
    event.preventDefault();
    const body = {
      name: form.name,
      role: form.role,
      externalId: form.externalId.trim() ? form.externalId : null,
      labels: parseLabels(form.labels),
    };
    const updated = await run(() => ok(api.PATCH("/v1/members/{id}", { params: { path: { id: member.id } }, body })));
    if (updated) props.onDone(updated);
  }
  return (
    <Dialog title={`Edit ${member.name}`} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <FormError message={formError} />
        <Field
          label="Name"
          name="name"
          required
          value={form.name}
          error={errors.name}
          onInput={(name) => set({ name })}
        />
        <SelectField label="Role" name="role" value={form.role} error={errors.role} onInput={(role) => set({ role })}>
          <RoleOptions directory={props.directory} />
        </SelectField>
        <Field
          label="External ID"
          name="externalId"
          value={form.externalId}
          error={errors.externalId}
          onInput={(externalId) => set({ externalId })}
        />
        <Field
          label="Labels"
          name="labels"
          hint="Comma-separated"
          value={form.labels}
          error={errors.labels}
          onInput={(labels) => set({ labels })}
        />
        <p class="hint">Email and phone change through a confirmation sent to the member.</p>
        <Buttons busy={busy} submit="Save" />
      </form>
    </Dialog>
  );
}
