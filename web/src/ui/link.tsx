import type { ComponentChildren } from "preact";
import { navigate } from "../app/router";

/** A link the app follows itself (no page load); a modified click (new tab) stays the browser's. */
export function Link(props: { href: string; current?: boolean; class?: string; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
