import { useCallback, useRef } from "preact/hooks";

const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;

/**
 * A brief highlight for rows that a live event changed. Rows register their element;
 * flash(id) plays a fade on it (Web Animations, so it restarts on every change and
 * never re-mounts the row or steals its focus).
 */
export function useFlash() {
  const rows = useRef(new Map<string, HTMLElement>());
  const pending = useRef(new Set<string>());
  const register = useCallback((id: string, element: HTMLElement | null) => {
    if (!element) {
      rows.current.delete(id);
      return;
    }
    rows.current.set(id, element);
    if (pending.current.delete(id)) play(element);
  }, []);
  const flash = useCallback((id: string) => {
    const element = rows.current.get(id);
    if (element) play(element);
    else pending.current.add(id);
  }, []);
  return { register, flash };
}

function play(element: HTMLElement) {
  // Off screen there is nothing to see: no animation to run.
  const box = element.getBoundingClientRect();
  if (box.bottom < 0 || box.top > window.innerHeight) return;
  element.dataset.flashed = String(Date.now());
  if (reducedMotion()) return;
  element.animate([{ backgroundColor: "#fff2b3" }, { backgroundColor: "transparent" }], {
    duration: 1600,
    easing: "ease-out",
  });
}
