import { useState } from "preact/hooks";
import type { Directory } from "../app/admin";
import { api, type Member, ok } from "../app/api";
import { Dialog } from "../ui/dialog";
import { Field, FormError, SelectField, SubmitButton } from "../ui/field";
import { useSubmit } from "../ui/form";

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
      <SubmitButton busy={busy} label={submit} />
    </div>
  );
}

type Profile = { role: string; externalId: string; labels: string };

/** Role, External ID and Labels: the fields Add Member and Edit share. */
function ProfileFields(props: {
  directory: Directory;
  form: Profile;
  errors: Record<string, string>;
  hints: { externalId?: string; labels: string };
  set: (patch: Partial<Profile>) => void;
}) {
  const { form, errors, set } = props;
  return (
    <>
      <SelectField label="Role" name="role" value={form.role} error={errors.role} onInput={(role) => set({ role })}>
        <RoleOptions directory={props.directory} />
      </SelectField>
      <Field
        label="External ID"
        name="externalId"
        hint={props.hints.externalId}
        value={form.externalId}
        error={errors.externalId}
        onInput={(externalId) => set({ externalId })}
      />
      <Field
        label="Labels"
        name="labels"
        hint={props.hints.labels}
        value={form.labels}
        error={errors.labels}
        onInput={(labels) => set({ labels })}
      />
    </>
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
        <ProfileFields
          directory={props.directory}
          form={form}
          errors={errors}
          hints={{ externalId: "Links to your other systems", labels: "Comma-separated, e.g. vip, new-customer" }}
          set={set}
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
        <ProfileFields
          directory={props.directory}
          form={form}
          errors={errors}
          hints={{ labels: "Comma-separated" }}
          set={set}
        />
        <p class="hint">Email and phone change through a confirmation sent to the member.</p>
        <Buttons busy={busy} submit="Save" />
      </form>
    </Dialog>
  );
}
