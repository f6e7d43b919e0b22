import { useEffect, useState } from "preact/hooks";
import type { LiveConnection, LiveState } from "./connection";

const LABELS: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Offline",
};

/** Says whether changes are arriving; announced politely to screen readers when it changes. */
export function LiveIndicator({ live }: { live: LiveConnection }) {
  const [state, setState] = useState<LiveState>(live.state);
  useEffect(() => live.onState(setState), [live]);
  return (
    <p class={`live-indicator live-${state}`} role="status" data-state={state}>
      <span class="dot" aria-hidden="true" />
      {LABELS[state]}
    </p>
  );
}
