/**
 * Runs `run` once at the next animation frame however often it is asked for in between:
 * live events arrive by the thousand under a bulk change (an import, a label deleted from
 * many members), and a page renders them once a frame, not once an event. A timer stands
 * in when no frame comes (a hidden tab has none; the browser slows its timers instead),
 * so the page catches up without a frame. `cancel()` is an effect's cleanup.
 */
export function frameScheduler(run: () => void, fallbackMs = 1_000) {
  let frame: number | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const cancel = () => {
    if (frame !== null) cancelAnimationFrame(frame);
    if (timer !== null) clearTimeout(timer);
    frame = timer = null;
  };
  const fire = () => {
    cancel();
    run();
  };
  return {
    request() {
      if (frame !== null) return;
      frame = requestAnimationFrame(fire);
      timer = setTimeout(fire, fallbackMs);
    },
    cancel,
  };
}
