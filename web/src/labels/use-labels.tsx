import { createContext } from "preact";
import { useContext, useEffect, useMemo, useState } from "preact/hooks";
import { knownEvent } from "../../../worker/live/protocol";
import { allPages, api, type Label, type ListedLabel, ok } from "../app/api";
import type { LiveConnection } from "../live/connection";
import { frameScheduler } from "../live/frame";

/** Every label of the workspace, by name, with its holders (GET /v1/labels, page after page). */
export const allLabels = () =>
  allPages((cursor) => ok(api.GET("/v1/labels", { params: { query: { limit: 100, cursor } } })));

const byName = (a: ListedLabel, b: ListedLabel) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The workspace's labels, kept live: label.created / updated / deleted carry the label as
 * committed, so they are folded as they come (the latest per slug) and applied once an
 * animation frame, however many arrive. Holder counts change with member events (a member
 * labeled, unlabeled, created with labels, merged...), which do not carry the counts: one
 * of them marks the counts stale, and they are read again (one request at a time, the
 * next once it answers), updating only the counts of labels shown, so a read that lags
 * the stream never brings back a label an event removed.
 */
export function useLiveLabels(live: LiveConnection, initial: readonly ListedLabel[]) {
  const [labels, setLabels] = useState<readonly ListedLabel[]>(initial);
  useEffect(() => setLabels(initial), [initial]);

  useEffect(() => {
    let folded = new Map<string, Label | null>();
    let stale = false;
    let counting = false;
    let stopped = false;
    const apply = () => {
      const changes = folded;
      folded = new Map();
      if (changes.size === 0) return;
      setLabels((current) => {
        const bySlug = new Map(current.map((l) => [l.slug, l]));
        for (const [slug, label] of changes) {
          if (label === null) bySlug.delete(slug);
          else bySlug.set(slug, { ...label, holders: bySlug.get(slug)?.holders ?? 0 });
        }
        return [...bySlug.values()].sort(byName);
      });
    };
    const frame = frameScheduler(apply);
    const recount = async () => {
      if (counting) return;
      counting = true;
      try {
        while (stale && !stopped) {
          stale = false;
          const counts = new Map((await allLabels()).map((l) => [l.slug, l.holders]));
          setLabels((current) =>
            current.map((l) => {
              const holders = counts.get(l.slug);
              return holders === undefined || holders === l.holders ? l : { ...l, holders };
            }),
          );
        }
      } catch {
        // A failed read leaves the counts as they were; the next member event reads them again.
      } finally {
        counting = false;
      }
    };
    const stop = live.onEvent((event) => {
      if (event.type.startsWith("member.")) {
        stale = true;
        void recount();
        return;
      }
      const known = knownEvent(event);
      if (!known) return;
      if (known.type === "label.created" || known.type === "label.updated")
        folded.set(known.data.label.slug, known.data.label);
      else if (known.type === "label.deleted") folded.set(known.data.slug, null);
      else return;
      frame.request();
    });
    return () => {
      stopped = true;
      stop();
      frame.cancel();
    };
  }, [live]);
  return labels;
}

/** Each label's color by slug, for chips and filters anywhere in the admin view. */
export const LabelColors = createContext<ReadonlyMap<string, string>>(new Map());

export const useLabelColors = () => useContext(LabelColors);

export function useColorMap(labels: readonly ListedLabel[]) {
  return useMemo(() => new Map(labels.map((l) => [l.slug, l.color])), [labels]);
}

/** A label's color as a small square beside its name (decorative: the name says which label). */
export function Swatch({ color }: { color: string | undefined }) {
  return <span class="swatch" aria-hidden="true" style={{ background: color ?? "transparent" }} />;
}
