"""Where the spreadsheet lives: a local workbook, Google Sheets, or memory (tests and dry runs)."""
