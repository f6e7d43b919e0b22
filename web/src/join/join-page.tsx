import { useRef, useState } from "preact/hooks";
import { api, ok } from "../app/api";
import { Field, FormError, SubmitButton } from "../ui/field";
import { useSubmit } from "../ui/form";

/** /join/{slug}: a visitor asks to join a workspace that takes join requests. */
export function JoinPage({ slug }: { slug: string }) {
  const [form, setForm] = useState({ name: "", email: "", phone: "", message: "" });
  const { busy, errors, formError, run } = useSubmit();
  const [done, setDone] = useState<string | null>(null);
  const [closed, setClosed] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const set = (patch: Partial<typeof form>) => setForm((f) => ({ ...f, ...patch }));

  async function submit(event: Event) {
    event.preventDefault();
    const body = {
      name: form.name,
      email: form.email,
      phone: form.phone || undefined,
      message: form.message || undefined,
    };
    const answer = await run(
      () => ok(api.POST("/public/{slug}/join-requests", { params: { path: { slug } }, body })),
      (error) => {
        if (error.status === 404) return setClosed(true) ?? null;
        if (error.status === 429) return "Too many requests right now. Please wait a minute and try again.";
        return undefined;
      },
    );
    if (!answer) return;
    setDone(answer.message);
    requestAnimationFrame(() => heading.current?.focus());
  }

  if (closed) {
    return (
      <main class="narrow">
        <h1 tabIndex={-1}>Not taking requests</h1>
        <p role="alert">This workspace does not take join requests. Ask one of its members to invite you.</p>
      </main>
    );
  }
  if (done) {
    return (
      <main class="narrow">
        <h1 ref={heading} tabIndex={-1}>
          Request sent
        </h1>
        <p role="status" class="success">
          {done}
        </p>
        <p>If they approve it, you will get an email with a link to join.</p>
      </main>
    );
  }
  return (
    <main class="narrow">
      <h1 tabIndex={-1}>Ask to join {slug}</h1>
      <p>Tell the workspace's admins who you are. Fields marked * are required.</p>
      <form onSubmit={submit} noValidate aria-label="Join request">
        <FormError message={formError} />
        <Field
          label="Name"
          name="name"
          required
          autoComplete="name"
          value={form.name}
          error={errors.name}
          onInput={(name) => set({ name })}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          required
          autoComplete="email"
          value={form.email}
          error={errors.email}
          onInput={(email) => set({ email })}
        />
        <Field
          label="Phone"
          name="phone"
          type="tel"
          autoComplete="tel"
          value={form.phone}
          error={errors.phone}
          onInput={(phone) => set({ phone })}
        />
        <Field
          label="Message"
          name="message"
          rows={3}
          value={form.message}
          error={errors.message}
          onInput={(message) => set({ message })}
        />
        <SubmitButton busy={busy} label="Send request" busyLabel="Sending…" />
      </form>
    </main>
  );
}
