/**
 * Styled text that honours the reporter's `color` option: with colours off (NO_COLOR, or the
 * caller said so) no colour, bold or dim attribute reaches Ink, so no SGR sequence is written.
 */
import { Text } from "ink";
import { createContext, useContext, type ReactNode } from "react";

/** Whether colours and text attributes are allowed. Provided once by App. */
export const ColorContext = createContext<boolean>(false);

/** Props of Styled: a subset of Ink's Text styling. */
export interface StyledProps {
  color?: "red" | "green" | "yellow" | "cyan" | "blue" | "magenta" | "gray";
  bold?: boolean;
  dim?: boolean;
  children?: ReactNode;
}

/** An inline span (nest it inside a Text), styled only when colours are on. */
export function Styled({ color, bold, dim, children }: StyledProps) {
  const on = useContext(ColorContext);
  if (!on) return <Text>{children}</Text>;
  return (
    <Text color={color} bold={bold} dimColor={dim}>
      {children}
    </Text>
  );
}
