import { useEffect, useRef, useState } from "preact/hooks";
import { knownEvent } from "../../../worker/live/protocol";
import { ApiError, api, ok } from "../app/api";
import type { components } from "../app/openapi";
import type { LiveConnection } from "../live/connection";
import { frameScheduler } from "../live/frame";
import { CopyButton } from "../ui/copy-button";
import { Field, FormError, SubmitButton } from "../ui/field";
import { useSubmit } from "../ui/form";

type SmsSettings = components["schemas"]["SmsSettings"];
type Form = { accountSid: string; authToken: string; numbers: string; expiryDays: string };

const formOf = (saved: SmsSettings | null): Form => ({
  accountSid: saved?.accountSid ?? "",
  authToken: "",
  numbers: saved?.numbers.join("\n") ?? "",
  expiryDays: saved?.anonymousExpiryDays?.toString() ?? "",
});

/** The settings as stored: null when none are (404). */
const readSettings = () =>
  ok(api.GET("/v1/settings/sms")).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  });

/**
 * Settings -> SMS: the Twilio account (the auth token is write-only: the field says it is
 * set, and a new one replaces it), the numbers, the webhook URLs to paste into Twilio, and
 * when anonymous members expire. Another admin's save (settings.sms_updated) shows at once,
 * unless this admin has edits of their own, which are kept and told about.
 */
export function SmsSettingsPage({ live, workspaceId }: { live: LiveConnection; workspaceId: string }) {
  const [saved, setSaved] = useState<SmsSettings | null | undefined>(undefined);
  const [form, setForm] = useState<Form>(formOf(null));
  // Edits not saved yet: another admin's save then leaves the form alone.
  const dirty = useRef(false);
  const [notice, setNotice] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const { busy, errors, formError, run } = useSubmit();

  useEffect(() => {
    let stopped = false;
    const load = () =>
      readSettings()
        .then((settings) => {
          if (stopped) return;
          setSaved(settings);
          if (!dirty.current) setForm(formOf(settings));
        })
        .catch((error: unknown) =>
          setFailure(error instanceof Error ? error.message : "The settings could not be read."),
        );
    const frame = frameScheduler(() => {
      if (dirty.current) setNotice("These settings were just saved elsewhere; your unsaved edits are kept.");
      void load();
    });
    const stop = live.onEvent((event) => {
      if (knownEvent(event)?.type === "settings.sms_updated") frame.request();
    });
    void load();
    return () => {
      stopped = true;
      stop();
      frame.cancel();
    };
  }, [live]);

  const set = (patch: Partial<Form>) => {
    setForm((f) => ({ ...f, ...patch }));
    dirty.current = true;
  };
  async function submit(event: Event) {
    event.preventDefault();
    const numbers = form.numbers
      .split(/[\n,]/)
      .map((n) => n.trim())
      .filter(Boolean);
    const done = await run(() =>
      ok(
        api.PUT("/v1/settings/sms", {
          body: {
            provider: "twilio",
            accountSid: form.accountSid,
            authToken: form.authToken === "" ? undefined : form.authToken,
            numbers,
            anonymousExpiryDays: form.expiryDays.trim() === "" ? null : (Number(form.expiryDays) as number),
          },
        }),
      ),
    );
    if (!done) return;
    setSaved(done);
    setForm(formOf(done));
    dirty.current = false;
    setNotice("Saved the SMS settings.");
  }

  const base = `${location.origin}/webhooks/twilio/${workspaceId}`;
  const tokenSet = saved
    ? saved.authTokenLast4
      ? `set, ending in ${saved.authTokenLast4}`
      : "set, but unreadable"
    : "";
  return (
    <section aria-labelledby="sms-title">
      <div class="page-head">
        <h1 id="sms-title" tabIndex={-1}>
          SMS
        </h1>
      </div>
      <output class="notice" aria-live="polite">
        {notice}
      </output>
      {failure ? <p role="alert">{failure}</p> : null}
      {saved === undefined && !failure ? <p role="status">Loading…</p> : null}
      {saved !== undefined ? (
        <form class="settings-form" onSubmit={submit} noValidate aria-labelledby="sms-account-title">
          <h2 id="sms-account-title">Twilio account</h2>
          {saved === null ? <p>No SMS provider is configured yet: texts and calls are not sent or received.</p> : null}
          <FormError message={formError} />
          <Field
            label="Account SID"
            name="accountSid"
            required
            hint="Starts with AC; on the Twilio console's home page."
            value={form.accountSid}
            error={errors.accountSid}
            onInput={(accountSid) => set({ accountSid })}
          />
          <Field
            label="Auth token"
            name="authToken"
            type="password"
            autoComplete="new-password"
            required={saved === null}
            placeholder={saved ? "••••••••" : ""}
            hint={
              saved
                ? `The token is ${tokenSet}; it is never shown. Type a new one to replace it, or leave this empty to keep it.`
                : "Kept sealed on the server and never shown again."
            }
            value={form.authToken}
            error={errors.authToken}
            onInput={(authToken) => set({ authToken })}
          />
          <Field
            label="Numbers"
            name="numbers"
            rows={3}
            hint="One phone number a line, in international format (+14155550100)."
            value={form.numbers}
            error={errors.numbers ?? Object.entries(errors).find(([path]) => path.startsWith("numbers."))?.[1]}
            onInput={(numbers) => set({ numbers })}
          />
          <Field
            label="Anonymous members expire after (days)"
            name="anonymousExpiryDays"
            type="number"
            min={1}
            max={3650}
            hint="A waiting anonymous member with no message for this long expires. Empty: never."
            value={form.expiryDays}
            error={errors.anonymousExpiryDays}
            onInput={(expiryDays) => set({ expiryDays })}
          />
          <div class="form-actions">
            <SubmitButton busy={busy} label="Save SMS settings" />
          </div>
        </form>
      ) : null}
      <h2 id="webhooks-title">Webhook URLs for Twilio</h2>
      <p>
        Paste these into each number's configuration in the Twilio console: "A message comes in" and "A call comes in",
        both HTTP POST.
      </p>
      <dl class="webhooks" aria-labelledby="webhooks-title">
        <WebhookUrl term="A message comes in" url={`${base}/sms`} what="SMS" />
        <WebhookUrl term="A call comes in" url={`${base}/voice`} what="voice" />
      </dl>
    </section>
  );
}

function WebhookUrl({ term, url, what }: { term: string; url: string; what: string }) {
  return (
    <>
      <dt>{term}</dt>
      <dd class="copy-row">
        <code>{url}</code>
        <CopyButton text={url} label={`Copy the ${what} webhook URL`} />
      </dd>
    </>
  );
}
