// Cuts a Kubernetes list response into its items while the bytes arrive, so a list of
// 10,000 objects is never one string or one parsed array: each item's JSON text is handed
// on as soon as its closing brace arrives (the caller parses and compacts it, and both the
// text and the whole object die young), and only the envelope around the items (kind,
// apiVersion, metadata with resourceVersion and continue) is kept, to be parsed at the
// end with an empty items array.
//
// It scans bytes, not characters: every structural character of JSON is ASCII, and no
// byte of a multi-byte UTF-8 sequence is, so a character split across two chunks is only
// ever inside a string, whose bytes are copied, never decoded here. What it tracks:
// nesting depth outside strings, string and escape state, and, in the top-level object,
// whether the last key was "items" (the list's array of objects).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const ITEMS = 'items';

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export class ListItemSplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The text of the string being read in the top-level object (keys are short). */
  private topString: string | undefined;
  /** The last top-level string was "items" and a colon followed: its value comes next. */
  private itemsKey: 'none' | 'string' | 'colon' = 'none';
  /** Inside the items array (its elements are at depth 2). */
  private inItems = false;
  private readonly envelope: Buffer[] = [];
  private readonly item: Buffer[] = [];
  private inItem = false;

  constructor(private readonly onItem: (json: string) => void) {}

  push(chunk: Buffer): void {
    let envStart = this.inItems ? -1 : 0;
    let itemStart = this.inItem ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.topString !== undefined) {
            this.itemsKey = this.topString === ITEMS ? 'string' : 'none';
            this.topString = undefined;
          }
        }
        if (this.topString !== undefined && this.inString && this.topString.length <= ITEMS.length) this.topString += String.fromCharCode(b);
        continue;
      }
      if (isSpace(b)) continue;
      if (b === QUOTE) {
        this.inString = true;
        if (this.depth === 1) this.topString = '';
        if (!(this.depth === 1 && this.itemsKey === 'colon')) this.itemsKey = 'none';
        continue;
      }
      if (b === COLON && this.depth === 1 && this.itemsKey === 'string') {
        this.itemsKey = 'colon';
        continue;
      }
      if (b === LBRACE || b === LBRACKET) {
        if (b === LBRACKET && this.depth === 1 && this.itemsKey === 'colon') {
          // The items array opens: the envelope keeps "[" and, later, "]".
          this.envelope.push(chunk.subarray(envStart, i + 1));
          envStart = -1;
          this.inItems = true;
        } else if (this.inItems && this.depth === 2 && b === LBRACE) {
          this.inItem = true;
          itemStart = i;
        }
        this.itemsKey = 'none';
        this.depth++;
        continue;
      }
      if (b === RBRACE || b === RBRACKET) {
        this.depth--;
        if (this.inItem && this.depth === 2) {
          this.item.push(chunk.subarray(itemStart, i + 1));
          this.emitItem();
          itemStart = -1;
        } else if (this.inItems && this.depth === 1) {
          this.inItems = false;
          envStart = i;
        }
      }
      this.itemsKey = 'none';
    }
    if (this.inItem && itemStart >= 0) this.item.push(chunk.subarray(itemStart));
    if (envStart >= 0) this.envelope.push(chunk.subarray(envStart));
  }

  /** The list's envelope, parsed (items: []), once every byte was pushed. */
  end<T>(): T {
    if (this.depth !== 0 || this.inString) throw new Error('list response ends in the middle of a JSON value');
    return JSON.parse(Buffer.concat(this.envelope).toString('utf8')) as T;
  }

  private emitItem(): void {
    const text = (this.item.length === 1 ? this.item[0]! : Buffer.concat(this.item)).toString('utf8');
    this.item.length = 0;
    this.inItem = false;
    this.onItem(text);
  }
}
