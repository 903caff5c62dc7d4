"""Expression strings shared by the tests: inputs the parser accepts and inputs it must refuse."""

from __future__ import annotations

from typing import NamedTuple

from diffcompare.errors import InputError, LimitError, ParseError

# (text, str of the parsed SymPy expression, variable names in natural order)
VALID: list[tuple[str, str, tuple[str, ...]]] = [
    # ^ is **: it binds tighter than unary minus and groups to the right.
    ("x^2 + 1", "x**2 + 1", ("x",)),
    ("-x^2", "-x**2", ("x",)),
    ("-x**2", "-x**2", ("x",)),
    ("(-x)^2", "x**2", ("x",)),
    ("2^3^2", "512", ()),
    ("x^-1", "1/x", ("x",)),
    ("e^-x^2", "exp(-x**2)", ("x",)),
    ("x ** 2 ** 3", "x**8", ("x",)),
    ("x^(1/2)", "sqrt(x)", ("x",)),
    # Unary minus and plus.
    ("--x", "x", ("x",)),
    ("+x", "x", ("x",)),
    ("x*-1", "-x", ("x",)),
    ("-(x + y)", "-(x + y)", ("x", "y")),
    # Decimals and scientific notation become exact rationals.
    ("0.1*x", "x/10", ("x",)),
    ("1.5e3*x", "1500*x", ("x",)),
    ("2.5E-3*y", "y/400", ("y",)),
    ("1E+2*x", "100*x", ("x",)),
    (".5*x", "x/2", ("x",)),
    ("5.", "5", ()),
    ("3.14159", "314159/100000", ()),
    ("1e-3 + x", "x + 1/1000", ("x",)),
    # Every function of the input language (ops.FUNCTIONS).
    ("sin(x)", "sin(x)", ("x",)),
    ("cos(x)", "cos(x)", ("x",)),
    ("tan(x)", "tan(x)", ("x",)),
    ("asin(x)", "asin(x)", ("x",)),
    ("acos(x)", "acos(x)", ("x",)),
    ("atan(x)", "atan(x)", ("x",)),
    ("sinh(x)", "sinh(x)", ("x",)),
    ("cosh(x)", "cosh(x)", ("x",)),
    ("tanh(x)", "tanh(x)", ("x",)),
    ("exp(x)", "exp(x)", ("x",)),
    ("log(x)", "log(x)", ("x",)),
    ("log(x, 2)", "log(x)/log(2)", ("x",)),
    ("log(x, e)", "log(x)", ("x",)),
    ("sqrt(x)", "sqrt(x)", ("x",)),
    ("sqrt(x^2)", "Abs(x)", ("x",)),  # only true of a real x
    ("abs(x)", "Abs(x)", ("x",)),
    ("sigmoid(x)", "sigmoid(x)", ("x",)),
    ("relu(x)", "relu(x)", ("x",)),
    ("softplus(x)", "softplus(x)", ("x",)),
    ("erf(x)", "erf(x)", ("x",)),
    ("min(x, y)", "Min(x, y)", ("x", "y")),
    ("max(x, y, z)", "Max(x, y, z)", ("x", "y", "z")),
    ("min(x, y, z, w)", "Min(w, x, y, z)", ("w", "x", "y", "z")),
    ("max(x, 0)", "Max(0, x)", ("x",)),
    ("max(1, 2)", "2", ()),
    # Reductions: each applies to a scalar too (but dot), and to lists of scalars.
    ("sum(x)", "x", ("x",)),
    ("sum([x, y, 1])", "x + y + 1", ("x", "y")),
    ("mean([x, y])", "(x + y)/2", ("x", "y")),
    ("mean([1, 2])", "3/2", ()),
    ("prod([x, y, 2])", "2*x*y", ("x", "y")),
    ("norm(x)", "Abs(x)", ("x",)),
    ("norm([x, y])", "sqrt(x**2 + y**2)", ("x", "y")),
    ("dot([x, y], [y, 2])", "x*y + 2*y", ("x", "y")),
    # Lists, the matrix product and constant subscripts, with a scalar result.
    ("[x, y] @ [y, 2]", "x*y + 2*y", ("x", "y")),
    ("[x, y][1]", "y", ("x", "y")),
    ("[[x, y], [y, 1]][1, 0] * x", "x*y", ("x", "y")),
    ("sum([x, 1] * [[1, 2], [3, x]])", "5*x + 2", ("x",)),
    # Constants: only lower-case pi and e; E and I are ordinary variable names.
    ("pi", "pi", ()),
    ("e", "E", ()),
    ("E", "E", ("E",)),
    ("I + 1", "I + 1", ("I",)),
    ("2*pi*r", "2*pi*r", ("r",)),
    ("e^x", "exp(x)", ("x",)),
    ("log(e)", "1", ()),
    ("sin(pi)", "0", ()),
    # Variables: natural order, kept even when they cancel.
    ("x10 + x2 + x1", "x1 + x10 + x2", ("x1", "x2", "x10")),
    ("b*a", "a*b", ("a", "b")),
    ("x_1*Y2", "Y2*x_1", ("Y2", "x_1")),
    ("x - x", "0", ("x",)),
    # Structure is kept as written, not distributed; blanks around it do not matter.
    ("4*(x^2 + 3*x + 1)", "4*(x**2 + 3*x + 1)", ("x",)),
    ("x/y/z", "x/(y*z)", ("x", "y", "z")),
    ("x - y - z", "x - y - z", ("x", "y", "z")),
    ("((x))", "x", ("x",)),
    ("exp(-x^2/2)", "exp(-x**2/2)", ("x",)),
    ("sqrt(x^2 + y^2)", "sqrt(x**2 + y**2)", ("x", "y")),
    ("sin(x)^2 + cos(x)^2", "sin(x)**2 + cos(x)**2", ("x",)),
    ("x\t+ 1 ", "x + 1", ("x",)),
    ("  x + 1", "x + 1", ("x",)),
]

# (text, the graph: the expression as typed, each node as Class(arguments) in their order)
GRAPHS: list[tuple[str, str]] = [
    ("x*sqrt(x)", "Mul(x, Pow(x, 1/2))"),
    ("exp(x)-1-x", "Add(exp(x), -1, Mul(-1, x))"),
    ("(1-cos(x))/x**2", "Mul(Add(1, Mul(-1, cos(x))), Pow(Pow(x, 2), -1))"),
    ("sin(x)/sin(x)", "Mul(sin(x), Pow(sin(x), -1))"),
    ("x/x", "Mul(x, Pow(x, -1))"),
    ("x - x", "Add(x, Mul(-1, x))"),
    # log to a base is the log row's own form, log(x)/log(base), in SymPy's order.
    ("log(x, 2)", "Mul(Pow(log(2), -1), log(x))"),
    ("log(x, 1+1)", "Mul(Pow(log(Add(1, 1)), -1), log(x))"),
    ("log(x, e)", "Mul(Pow(log(E), -1), log(x))"),
    # Min and Max hold a set of arguments whatever evaluate says: repeats merge, order sorts.
    ("max(y, x, y)", "Max(x, y)"),
    ("min(x, x)", "x"),
    ("max(1, 2)*x", "Mul(Max(1, 2), x)"),
    ("abs(x - 1)", "Abs(Add(x, -1))"),
    ("sqrt(x^2)", "Pow(Pow(x, 2), 1/2)"),
    ("sqrt(4)*x", "Mul(Pow(4, 1/2), x)"),
    ("e**x", "Pow(E, x)"),
    ("exp(log(x))", "exp(log(x))"),
    ("sin(pi)*x", "Mul(sin(pi), x)"),
    ("x^2", "Pow(x, 2)"),
    ("2^3^2", "Pow(2, Pow(3, 2))"),
    ("0.1*x + 2.5e-3", "Add(Mul(1/10, x), 1/400)"),
    ("-x", "Mul(-1, x)"),
    ("--x", "Mul(-1, Mul(-1, x))"),
    ("-(-(-x))", "Mul(-1, Mul(-1, Mul(-1, x)))"),
    ("-2*x", "Mul(-2, x)"),
    ("-x^2", "Mul(-1, Pow(x, 2))"),
    ("x*-1", "Mul(x, -1)"),  # a negative number is a number
    # A leading run of numbers is what Python computes before any tensor: one constant.
    ("2*3*x", "Mul(Mul(2, 3), x)"),
    ("1 - 2 + x", "Add(Add(1, -2), x)"),
    ("x*2*3", "Mul(x, 2, 3)"),
    ("2*x*3", "Mul(2, x, 3)"),
    ("pi*x", "Mul(pi, x)"),
    ("pi", "pi"),
    ("e", "E"),
    # A chain of one operator is one node; brackets on the right nest.
    ("x - y - z", "Add(x, Mul(-1, y), Mul(-1, z))"),
    ("x - (y - z)", "Add(x, Mul(-1, Add(y, Mul(-1, z))))"),
    ("(x + y) + z", "Add(x, y, z)"),
    ("x/y/z", "Mul(x, Pow(y, -1), Pow(z, -1))"),
    ("x*y + z", "Add(Mul(x, y), z)"),
    ("4*(x^2 + 3*x + 1)", "Mul(4, Add(Pow(x, 2), Mul(3, x), 1))"),
    ("sigmoid(x) + relu(x) - softplus(x)", "Add(sigmoid(x), relu(x), Mul(-1, softplus(x)))"),
    # A reduction is one node over the components; each component of @ is a dot node.
    ("sum([x, y])", "sum(x, y)"),
    ("mean([x, 2*x])", "mean(x, Mul(2, x))"),
    ("norm(x)", "norm(x)"),
    ("dot([x, 1], [y, 2])", "dot(x, 1, y, 2)"),
    ("[x, y] @ [y, x]", "dot(x, y, y, x)"),
    ("sum(-[x, y])", "sum(Mul(-1, x), Mul(-1, y))"),
    ("[x, y][-1]", "y"),
]

# Within the length limit: 1000 arguments over 60 variables.
MANY_ARGUMENTS = "max(" + ",".join(f"x{i % 60}+{i}" for i in range(1000)) + ")"


class Hostile(NamedTuple):
    """An input the parser must refuse: the error class it raises and words its message holds."""

    id: str
    text: str
    error: type[InputError]
    words: tuple[str, ...] = ()


HOSTILE: list[Hostile] = [
    # Code execution and introspection.
    Hostile(
        "import-os-system",
        "__import__('os').system('id')",
        ParseError,
        ("attribute", "__import__('os').system", "column 1"),
    ),
    Hostile("dunder-bases", "().__class__.__bases__", ParseError, ("attribute",)),
    Hostile("attribute", "x.real", ParseError, ("attribute", "'x.real'", "column 1")),
    Hostile("attribute-after-caret", "x^2 + y.real", ParseError, ("'y.real'", "column 7")),
    Hostile("format-string", '"{0.__class__}".format(x)', ParseError, ("attribute",)),
    Hostile("lambda", "lambda: 0", ParseError, ("lambda",)),
    Hostile("comprehension", "[c for c in ()]", ParseError, ("comprehension",)),
    Hostile("walrus", "(y:=2)", ParseError, (":=", "column 2")),
    Hostile("keyword-argument", "sin(x, evaluate=False)", ParseError, ("keyword", "column 8")),
    Hostile("starred-argument", "sin(*x)", ParseError, ("starred",)),
    Hostile("subscript", "x[0]", ParseError, ("subscript", "--shape x=N")),
    Hostile("tuple", "(x, y)", ParseError, ("tuple", "[a, b]")),
    Hostile("dunder-name", "__class__", ParseError, ("underscore",)),
    Hostile("builtins", "__builtins__", ParseError, ("underscore",)),
    Hostile("unknown-function", "foo(x)", ParseError, ("unknown function", "'foo'")),
    Hostile("eval-call", "eval('1')", ParseError, ("unknown function", "'eval'")),
    Hostile("getattr-call", "getattr(x, 'y')", ParseError, ("unknown function",)),
    # Sizes and costs.
    Hostile("one-megabyte", "x" * 1_000_000, LimitError, ("expression length", "1000000")),
    Hostile("power-tower", "9**9**9**9", LimitError, ("exponent",)),
    Hostile("huge-exponent", "x**(10**100000)", LimitError, ("exponent",)),
    Hostile("huge-negative-exponent", "2**-1000000", LimitError, ("exponent",)),
    Hostile("exponent-of-831-digits", "x**(10**830)", LimitError, ("exponent",)),
    Hostile("exponent-of-4621-digits", "x**(" + "*".join(["1e308"] * 15) + ")", LimitError),
    Hostile("product-of-huge-numbers", "*".join(["1e308"] * 15), LimitError, ("computed number",)),
    Hostile("power-of-a-product", "(x*10**400)**1000", LimitError, ("computed number",)),
    Hostile("max-of-1000-arguments", MANY_ARGUMENTS, LimitError, ("arguments", "1000")),
    Hostile("constant-tower", "exp(exp(exp(20)))*x", LimitError, ("exp(exp(20))", "exponent")),
    Hostile("overflowing-constant", "exp(exp(exp(exp(10))))", LimitError, ("decimal exponent",)),
    Hostile("sine-of-a-huge-constant", "sin(exp(1e308))", LimitError, ("decimal exponent",)),
    Hostile("power-of-cosh", "pi**cosh(9**9)*x", LimitError, ("cosh(387420489)", "1000")),
    Hostile("float-overflow", "1e1000000", ParseError, ("float64",)),
    Hostile("float-underflow", "1e-1000000", ParseError, ("float64",)),
    Hostile("float-underflow-1e-400", "1e-400", ParseError, ("float64",)),
    Hostile("long-literal", "1" * 5000, LimitError, ("digits in a number", "5000")),
    Hostile("nested-parens-10000", "(" * 10_000 + "x" + ")" * 10_000, LimitError, ("length",)),
    Hostile("nested-parens-4000", "(" * 4000 + "x" + ")" * 4000, LimitError, ("nesting depth",)),
    Hostile("unclosed-parens-10000", "(" * 10_000, LimitError, ("nesting depth", "column 101")),
    Hostile("nested-sin-150", "sin(" * 150 + "x" + ")" * 150, LimitError, ("nesting depth",)),
    Hostile("unary-minus-chain", "-" * 4000 + "x", LimitError, ("nesting depth",)),
    Hostile("power-chain", "x**" * 2000 + "x", LimitError, ("nesting depth",)),
    # Counted from the text before Python parses it, which recurses once per node of a chain.
    Hostile("unary-minus-chain-9000", "-" * 9000 + "x", LimitError, ("number of nodes",)),
    Hostile("sum-of-5000", "+".join(["x"] * 5000), LimitError, ("number of nodes",)),
    # Characters outside printable ASCII, and comments.
    Hostile("fullwidth-x", "\uff58+1", ParseError, ("U+FF58", "column 1")),
    Hostile("zero-width-space", "x\u200b+1", ParseError, ("U+200B", "column 2")),
    Hostile("nul-byte", "x\x00+1", ParseError, ("NUL", "column 2")),
    Hostile("newline", "x\n+1", ParseError, ("line break", "column 2")),
    Hostile("carriage-return", "x\r+1", ParseError, ("line break",)),
    Hostile("escape-character", "x\x1b[2J", ParseError, ("U+001B",)),
    Hostile("superscript-two", "x\u00b2", ParseError, ("U+00B2",)),
    Hostile("comment", "x # + y", ParseError, ("comment", "column 3")),
    # Python syntax outside the input language.
    Hostile("conditional", "x if y else z", ParseError, ("conditional",)),
    Hostile("comparison", "x < y", ParseError, ("comparison",)),
    Hostile("equality", "x == 1", ParseError, ("comparison",)),
    Hostile("chained-comparison", "0 < x < 1", ParseError, ("comparison",)),
    Hostile("assignment", "x=1", ParseError, ("column 2",)),
    Hostile("two-statements", "x;y", ParseError, ("column 2",)),
    Hostile("string", "'s'", ParseError, ("string",)),
    Hostile("bytes", "b's'", ParseError, ("bytes",)),
    Hostile("f-string", "f'{x}'", ParseError, ("f-string",)),
    Hostile("import-statement", "import os", ParseError, ("not a single expression",)),
    Hostile("not", "not x", ParseError, ("'not'",)),
    Hostile("and", "x and y", ParseError, ("boolean",)),
    Hostile("yield", "yield x", ParseError),
    Hostile("await", "await x", ParseError),
    Hostile("none", "None", ParseError),
    Hostile("true", "True", ParseError, ("boolean",)),
    Hostile("hex", "0x10", ParseError, ("decimal",)),
    Hostile("octal", "0o17", ParseError, ("decimal",)),
    Hostile("underscore-digits", "1_000", ParseError, ("decimal",)),
    Hostile("imaginary", "1j", ParseError, ("imaginary",)),
    Hostile("implicit-product", "2x", ParseError, ("column 1",)),
    Hostile("unclosed", "(x", ParseError, ("column 1",)),
    Hostile("unmatched", "x)", ParseError, ("column 2",)),
    Hostile("dangling-operator", "x**", ParseError),
    # Operators outside the input language.
    Hostile("matmul", "x @ y", ParseError, ("'@'",)),
    Hostile("modulo", "x % 2", ParseError, ("'%'",)),
    Hostile("floor-division", "x // 2", ParseError, ("'//'",)),
    Hostile("invert", "~x", ParseError, ("'~'",)),
    # Values that are not finite real numbers.
    Hostile("division-by-zero", "1/0", ParseError, ("undefined",)),
    Hostile("log-zero", "log(0)", ParseError, ("undefined",)),
    Hostile("tan-of-half-pi", "tan(pi/2)", ParseError, ("undefined",)),
    Hostile("sqrt-minus-one", "sqrt(-1)", ParseError, ("real",)),
    Hostile("log-minus-one", "log(-1)", ParseError, ("real",)),
    Hostile("acos-of-two", "acos(2)", ParseError, ("acos(2)", "real")),
    Hostile("non-real-constant-of-309-digits", "1e308 + acos(pi)", ParseError, ("real",)),
    Hostile("asin-of-two-plus-x", "asin(2) + x", ParseError, ("real",)),
    Hostile("cube-root-of-negative", "(-8)^(1/3)", ParseError, ("real",)),
    Hostile("log-to-base-zero", "log(x, 0)", ParseError, ("base",)),
    Hostile("log-to-base-one", "log(x, 1)", ParseError, ("base",)),
    # Functions misused.
    Hostile("function-as-variable", "sin + 1", ParseError, ("sin(...)",)),
    Hostile("bare-function", "sin", ParseError, ("sin(...)",)),
    Hostile("too-many-arguments", "sin(x, y)", ParseError, ("sin takes 1 argument, got 2",)),
    Hostile("too-few-arguments", "max(x)", ParseError, ("at least 2",)),
    Hostile("log-three-arguments", "log(x, 2, 3)", ParseError, ("1 or 2",)),
    Hostile("no-arguments", "sin()", ParseError, ("got 0",)),
    # ast forgets a trailing comma in a call; the parser does not.
    Hostile("trailing-comma", "sin(x,)", ParseError, ("trailing comma", "column 6")),
    Hostile("trailing-comma-after-two", "max(x, y,)", ParseError, ("trailing comma", "column 9")),
    Hostile("trailing-comma-with-blank", "sin(x , )", ParseError, ("trailing comma", "column 7")),
    Hostile("trailing-comma-after-brackets", "sin((x),)", ParseError, ("trailing comma",)),
    Hostile("trailing-comma-inner-call", "sin(cos(x,))", ParseError, ("column 10",)),
    Hostile("trailing-comma-caret", "max(x^2, y^2,)", ParseError, ("column 13",)),
    # Lists and subscripts misused.
    Hostile("empty-list", "[]", ParseError, ("empty list", "column 1")),
    Hostile("list-of-an-empty-list", "[[]]", ParseError, ("empty list", "column 2")),
    Hostile("ragged-list", "[[x, y], [x]]", ParseError, ("ragged", "shape (2,)", "shape (1,)")),
    Hostile("scalar-beside-vector", "[x, [y, x]]", ParseError, ("ragged", "a scalar")),
    Hostile("three-dimensional-list", "[[[x]]]", ParseError, ("3-d",)),
    Hostile(
        "no-broadcast", "[x, y] + [x, y, x]", ParseError, ("shapes (2,) and (3,) do not broadcast",)
    ),
    Hostile(
        "no-broadcast-in-a-call",
        "max([x, y], [x, y, x])",
        ParseError,
        ("shapes (2,) and (3,) do not broadcast",),
    ),
    Hostile(
        "matmul-inner-sizes",
        "[x, y] @ [x, y, x]",
        ParseError,
        ("'@'", "(2,)", "(3,)", "inner sizes 2 and 3"),
    ),
    Hostile("matmul-of-a-scalar", "[x, y] @ x", ParseError, ("'@'", "right side is a scalar")),
    Hostile("index-out-of-range", "[x, y][2]", ParseError, ("out of range", "-2 to 1")),
    Hostile("negative-index-out-of-range", "[x, y][-3]", ParseError, ("out of range",)),
    Hostile("too-many-indices", "[x, y][0, 1]", ParseError, ("2 indices", "at most 1")),
    Hostile("slice", "[x, y][0:1]", ParseError, ("slices", "x[0]")),
    Hostile("variable-index", "[x, y][x]", ParseError, ("constant whole number",)),
    Hostile("fractional-index", "[x, y][0.5]", ParseError, ("0.5", "not a whole number")),
    Hostile("hex-index", "[x, y][0x1]", ParseError, ("not a whole number",)),
    Hostile("boolean-index", "[x, y][True]", ParseError, ("not a whole number",)),
    Hostile("subscript-of-a-sum", "(x + 1)[0]", ParseError, ("a scalar has no subscripts",)),
    Hostile("subscript-of-a-constant", "pi[0]", ParseError, ("a scalar has no subscripts",)),
    Hostile("dot-of-scalars", "dot(x, y)", ParseError, ("2 vectors", "a scalar and a scalar")),
    Hostile(
        "dot-of-unequal-vectors", "dot([x, y], [x])", ParseError, ("shape (2,) and shape (1,)",)
    ),
    Hostile("sum-of-two", "sum(x, y)", ParseError, ("sum takes 1 argument, got 2", "sum([a, b])")),
    Hostile("dot-of-one", "dot([x, y])", ParseError, ("dot takes 2 arguments, got 1",)),
    # Nothing to parse.
    Hostile("empty", "", ParseError, ("empty",)),
    Hostile("blank", "   ", ParseError, ("empty",)),
    Hostile("tab-only", "\t", ParseError, ("empty",)),
]
