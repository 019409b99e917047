//! Scenario files: the text people write (YAML or JSON), validated with line/column diagnostics,
//! built into an engine `World`, and checked against its own `expect` lines.
