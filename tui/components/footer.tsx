// The key table (tui/keys.ts) and the latest notice, e.g. what a demo key just did.

import { Box, Text } from "ink";
import { Fragment } from "react";
import { bindingsFor, type HelpContext } from "../keys.ts";
import type { Notice } from "../state.ts";

export interface FooterProps {
  demo: boolean;
  help: HelpContext;
  notice: Notice | null;
}

export function Footer({ demo, help, notice }: FooterProps) {
  return (
    <Box flexDirection="column">
      <Text color={notice?.tone === "error" ? "red" : "magenta"} wrap="truncate-end">
        {notice ? notice.text : " "}
      </Text>
      <Text wrap="truncate-end">
        {bindingsFor(demo).map((b, i) => (
          <Fragment key={b.keys}>
            {i > 0 ? "  " : ""}
            <Text bold color="cyan">{b.keys}</Text>
            <Text> {b.help(help)}</Text>
          </Fragment>
        ))}
      </Text>
    </Box>
  );
}
