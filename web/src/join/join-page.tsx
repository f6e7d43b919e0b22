import { useRef, useState } from "preact/hooks";
import { ApiError, api, errorMessage, ok } from "../app/api";
import { Field, FormError } from "../ui/field";

/** /join/{slug}: a visitor asks to join a workspace that takes join requests. */
export function JoinPage({ slug }: { slug: string }) {
  const [form, setForm] = useState({ name: "", email: "", phone: "", message: "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [closed, setClosed] = useState(false);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const set = (patch: Partial<typeof form>) => setForm((f) => ({ ...f, ...patch }));

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setFailure(null);
    try {
      const answer = await ok(
        api.POST("/public/{slug}/join-requests", {
          params: { path: { slug } },
          body: {
            name: form.name,
            email: form.email,
            phone: form.phone || undefined,
            message: form.message || undefined,
          },
        }),
      );
      setDone(answer.message);
      requestAnimationFrame(() => heading.current?.focus());
    } catch (error) {
      const fields = error instanceof ApiError ? error.fieldErrors() : {};
      if (error instanceof ApiError && error.status === 404) setClosed(true);
      else if (error instanceof ApiError && error.status === 429)
        setFailure("Too many requests right now. Please wait a minute and try again.");
      else if (Object.keys(fields).length) {
        setErrors(fields);
        setFailure("Please correct the highlighted fields.");
        requestAnimationFrame(() => document.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
      } else setFailure(errorMessage(error));
    } finally {
      setBusy(false);
    }
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
        <FormError message={failure} />
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
        <div class="field">
          <label for="join-message">Message</label>
          <textarea
            id="join-message"
            name="message"
            rows={3}
            value={form.message}
            aria-invalid={errors.message ? "true" : undefined}
            onInput={(e) => set({ message: (e.target as HTMLTextAreaElement).value })}
          />
          {errors.message ? <p class="field-error">{errors.message}</p> : null}
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Send request"}
        </button>
      </form>
    </main>
  );
}
