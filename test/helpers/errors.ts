/** The `name` of what `fn` throws synchronously ('none' when it does not throw). */
export function thrownName(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).name;
  }
  return 'none';
}
