"""The command line: click commands for comparing and explaining, one dispatcher."""
