import type { ComponentChildren } from "preact";
import { Dialog } from "./dialog";
import { FormError, SubmitButton } from "./field";
import { useSubmit } from "./form";

/**
 * The one confirmation of a destructive action: what it does, Cancel, and the action's
 * button; the API's refusal shows in it, and `onDone` gets what `act` answered.
 */
export function ConfirmDialog<T>(props: {
  title: string;
  confirm: string;
  busyLabel: string;
  act: () => Promise<T>;
  onClose: () => void;
  onDone: (answer: T) => void;
  children: ComponentChildren;
}) {
  const { busy, formError, run } = useSubmit();
  async function submit(event: Event) {
    event.preventDefault();
    const answer = await run(async () => ({ value: await props.act() }));
    if (answer) props.onDone(answer.value);
  }
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <FormError message={formError} />
        {props.children}
        <div class="dialog-actions">
          <button type="button" class="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <SubmitButton busy={busy} label={props.confirm} busyLabel={props.busyLabel} />
        </div>
      </form>
    </Dialog>
  );
}
