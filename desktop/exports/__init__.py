"""Taking notes out of Margin: Markdown files (markdown.py) and Margin's own JSON
(margin_json.py), with file names safe on every system (filenames.py)."""
