// EventBridge event-pattern matching, for the tests that route every sample in events/ through
// the synthesized rules. It implements the subset of the pattern language the stack uses (exact
// values, `prefix`, `exists`) and refuses anything else, so a new kind of pattern cannot pass the
// tests by being misunderstood. The moto smoke test cross-checks with TestEventPattern.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function matches(pattern: Record<string, unknown>, event: Json): boolean {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    return false;
  }
  return Object.entries(pattern).every(([key, rule]) => {
    const value = (event as Record<string, Json>)[key];
    if (Array.isArray(rule)) {
      return matchesAny(rule, value);
    }
    if (rule !== null && typeof rule === 'object') {
      return value !== undefined && matches(rule as Record<string, unknown>, value);
    }
    throw new Error(`pattern field ${key}: expected an array or an object, got ${JSON.stringify(rule)}`);
  });
}

function matchesAny(rules: unknown[], value: Json | undefined): boolean {
  // An array in the event matches if any of its elements does.
  const values: (Json | undefined)[] = Array.isArray(value) ? value : [value];
  return rules.some((rule) => {
    if (rule !== null && typeof rule === 'object') {
      const [op, arg] = Object.entries(rule)[0] ?? [];
      switch (op) {
        case 'exists':
          return arg ? value !== undefined : value === undefined;
        case 'prefix':
          return values.some((v) => typeof v === 'string' && v.startsWith(String(arg)));
        default:
          throw new Error(`unsupported pattern operator ${JSON.stringify(rule)}`);
      }
    }
    return value !== undefined && values.some((v) => v === rule);
  });
}
