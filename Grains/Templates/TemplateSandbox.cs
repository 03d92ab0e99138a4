using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using Fluid;
using Fluid.Values;

namespace Glance.Grains.Templates;

/// <summary>
/// The Liquid (Fluid) sandbox templates render in. Templates see only the values put in the
/// context (dictionaries, lists and scalars built here): the member access strategy has no .NET type
/// registered, there is no file provider (no include/render of files), variables are strict (an
/// unknown name or member is an error, not silence), and every render is bounded by a step limit,
/// a recursion limit, a deadline and an output cap. Filters are wrapped so that no filter result
/// grows past the cap either (<c>append</c> in a loop cannot double a string into gigabytes).
/// </summary>
public static partial class TemplateSandbox
{
    /// <summary>Nova's user_data limit: the rendered configuration may not be larger (bytes).</summary>
    public const int MaxOutputBytes = 65_535;

    /// <summary>Largest template body accepted (characters).</summary>
    public const int MaxTemplateChars = 65_536;

    /// <summary>Statements one render may execute.</summary>
    public const int MaxSteps = 100_000;

    /// <summary>Nested blocks a template may have (checked before parsing, which recurses).</summary>
    public const int MaxNesting = 32;

    /// <summary>Wall-clock bound of one render.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(1);

    private static readonly FluidParser Parser = new(new FluidParserOptions { AllowFunctions = false });

    private static readonly Fluid.TemplateOptions Options = CreateOptions();

    /// <summary>Parses a template body; 400 naming <paramref name="where"/> when it is too large, too deep or not Liquid.</summary>
    public static IFluidTemplate Parse(string source, string where)
    {
        if (source.Length > MaxTemplateChars)
        {
            throw GlanceException.BadRequest($"{where} is longer than {MaxTemplateChars} characters.");
        }
        if (Nesting(source) > MaxNesting)
        {
            throw GlanceException.BadRequest($"{where} nests blocks deeper than {MaxNesting} levels.");
        }
        return Parser.TryParse(source, out var template, out var error)
            ? template
            : throw GlanceException.BadRequest($"{where} is not a valid template: {error}");
    }

    /// <summary>
    /// Renders <paramref name="template"/> with <paramref name="model"/> as its variables. With
    /// <paramref name="yaml"/> every value is written as a YAML scalar (<see cref="YamlEncoder"/>).
    /// Any limit reached, unknown variable or filter error is a 400 naming <paramref name="where"/>.
    /// </summary>
    public static string Render(IFluidTemplate template, IReadOnlyDictionary<string, FluidValue> model, bool yaml, string where)
    {
        var budget = new Budget(Stopwatch.GetTimestamp());
        var context = new TemplateContext(Options) { MaxSteps = MaxSteps };
        context.AmbientValues[nameof(Budget)] = budget;
        foreach (var (name, value) in model)
        {
            context.SetValue(name, value);
        }
        using var output = new CappedWriter(budget);
        try
        {
            var pending = template.RenderAsync(output, yaml ? YamlEncoder.Instance : NullEncoder.Default, context);
            if (!pending.IsCompletedSuccessfully)
            {
                // Nothing in the sandbox awaits I/O; a render that does not complete at once is refused.
                pending.AsTask().GetAwaiter().GetResult();
            }
        }
        catch (SandboxLimitException e)
        {
            throw GlanceException.BadRequest($"{where} could not be rendered: {e.Message}");
        }
        catch (Exception e) when (e is FluidException or IOException or InvalidOperationException or ArgumentException or FormatException or OverflowException or NotSupportedException or InvalidCastException)
        {
            throw GlanceException.BadRequest($"{where} could not be rendered: {Describe(e)}");
        }
        return output.ToString();
    }

    /// <summary>A template value from a plain .NET value (string, decimal, bool, list, dictionary), lists and maps YAML-safe.</summary>
    public static FluidValue Value(object? value) => value switch
    {
        null => NilValue.Instance,
        string text => StringValue.Create(text),
        bool flag => new YamlSafeValue(BooleanValue.Create(flag)),
        decimal number => new YamlSafeValue(NumberValue.Create(number)),
        long number => new YamlSafeValue(NumberValue.Create(number)),
        int number => new YamlSafeValue(NumberValue.Create(number)),
        IReadOnlyDictionary<string, object?> map => new YamlSafeValue(new DictionaryValue(
            new FluidValueDictionaryFluidIndexable(map.ToDictionary(p => p.Key, p => Value(p.Value))))),
        IEnumerable<object?> items => new YamlSafeValue(new ArrayValue([.. items.Select(Value)])),
        _ => throw new ArgumentException($"no template value for {value.GetType().Name}"),
    };

    private static string Describe(Exception e)
    {
        var message = (e.InnerException ?? e).Message;
        // Fluid names a missing member by its AST type; say what it means.
        return message.Contains("Fluid.Ast", StringComparison.Ordinal) ? "undefined variable or member" : message;
    }

    private static Fluid.TemplateOptions CreateOptions()
    {
        var options = new Fluid.TemplateOptions
        {
            StrictVariables = true,
            StrictFilters = true,
            MaxRecursion = 16,
            MaxSteps = MaxSteps,
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            FileProvider = new Microsoft.Extensions.FileProviders.NullFileProvider(),
        };
        // No .NET type is registered with the member access strategy: only context values are reachable.
        foreach (var (name, filter) in options.Filters.ToList())
        {
            options.Filters.AddFilter(name, Bounded(filter));
        }
        return options;
    }

    /// <summary>A filter that checks the deadline, sees through <see cref="YamlSafeValue"/> and refuses results past the cap.</summary>
    private static FilterDelegate Bounded(FilterDelegate filter) => async (input, arguments, context) =>
    {
        var budget = (Budget)context.AmbientValues[nameof(Budget)];
        budget.Check();
        // The input is unwrapped (Fluid's list filters expect its own types); arguments pass as they are.
        var result = await filter(YamlSafeValue.Unwrap(input), arguments, context);
        switch (result)
        {
            case StringValue text when text.ToStringValue().Length > MaxOutputBytes:
                throw new SandboxLimitException($"a value is longer than {MaxOutputBytes} characters");
            case ArrayValue array when array.Values.Count > MaxOutputBytes:
                throw new SandboxLimitException($"a list has more than {MaxOutputBytes} items");
            case ArrayValue or DictionaryValue or NumberValue or BooleanValue:
                return new YamlSafeValue(result);
            default:
                return result;
        }
    };

    /// <summary>The deepest nesting of block tags in a template (a cheap scan before the recursive parser runs).</summary>
    private static int Nesting(string source)
    {
        int depth = 0, deepest = 0;
        foreach (Match tag in BlockTag().Matches(source))
        {
            if (tag.Groups["end"].Success)
            {
                depth = Math.Max(0, depth - 1);
            }
            else
            {
                deepest = Math.Max(deepest, ++depth);
            }
        }
        // Expressions nest too (filters, brackets): bound their depth the same way.
        int brackets = 0, deepestBracket = 0;
        foreach (var c in source)
        {
            if (c is '(' or '[')
            {
                deepestBracket = Math.Max(deepestBracket, ++brackets);
            }
            else if (c is ')' or ']')
            {
                brackets = Math.Max(0, brackets - 1);
            }
        }
        return Math.Max(deepest, deepestBracket);
    }

    [GeneratedRegex(@"\{%-?\s*(?:(?<end>end)(?:if|unless|for|case|capture|tablerow|comment|raw)|if|unless|for|case|capture|tablerow|comment|raw)\b", RegexOptions.CultureInvariant)]
    private static partial Regex BlockTag();

    /// <summary>A render's clock.</summary>
    private sealed class Budget(long started)
    {
        public void Check()
        {
            if (Stopwatch.GetElapsedTime(started) > Deadline)
            {
                throw new SandboxLimitException($"the render took longer than {Deadline.TotalSeconds:0.#} s");
            }
        }
    }

    /// <summary>The render's output: refuses to grow past the cap and checks the deadline on each write.</summary>
    private sealed class CappedWriter(Budget budget) : StringWriter(CultureInfo.InvariantCulture)
    {
        private long _bytes;

        public override void Write(char value) => Count(1).Append(value);

        public override void Write(string? value)
        {
            if (value is not null)
            {
                Count(System.Text.Encoding.UTF8.GetByteCount(value)).Append(value);
            }
        }

        public override void Write(char[] buffer, int index, int count) => Count(System.Text.Encoding.UTF8.GetByteCount(buffer, index, count)).Append(buffer, index, count);

        public override void Write(ReadOnlySpan<char> buffer) => Count(System.Text.Encoding.UTF8.GetByteCount(buffer)).Append(buffer);

        public override void Write(System.Text.StringBuilder? value) => Write(value?.ToString());

        private System.Text.StringBuilder Count(int bytes)
        {
            budget.Check();
            _bytes += bytes;
            return _bytes > MaxOutputBytes
                ? throw new SandboxLimitException($"the output is larger than {MaxOutputBytes} bytes")
                : GetStringBuilder();
        }
    }
}

/// <summary>A sandbox limit was reached (steps, size, deadline).</summary>
public sealed class SandboxLimitException(string message) : Exception(message);

/// <summary>
/// A typed value in a template's context: a list, map, number or boolean. Behaves as the Fluid value
/// it wraps, except when written as YAML: a number or boolean plainly (so it stays a YAML number or
/// boolean, where any other value becomes a quoted string), a list or map as a YAML flow collection
/// whose every item is an escaped scalar, where Fluid would write the items' raw text (and so let a
/// list item inject YAML).
/// </summary>
public sealed class YamlSafeValue(FluidValue inner) : FluidValue
{
    /// <summary>The wrapped value (filters get it, since some expect Fluid's own types).</summary>
    public FluidValue Inner { get; } = inner;

    /// <summary>The value itself, or the value a <see cref="YamlSafeValue"/> wraps.</summary>
    public static FluidValue Unwrap(FluidValue value) => value is YamlSafeValue safe ? safe.Inner : value;

    private static FluidValue Wrap(FluidValue value) => value is ArrayValue or DictionaryValue or NumberValue or BooleanValue ? new YamlSafeValue(value) : value;

    /// <inheritdoc />
    public override FluidValues Type => Inner.Type;

    /// <inheritdoc />
    public override bool Equals(FluidValue other) => Inner.Equals(Unwrap(other));

    /// <inheritdoc />
    public override bool ToBooleanValue() => Inner.ToBooleanValue();

    /// <inheritdoc />
    public override decimal ToNumberValue() => Inner.ToNumberValue();

    /// <inheritdoc />
    public override string ToStringValue() => Inner.ToStringValue();

    /// <inheritdoc />
    public override object ToObjectValue() => Inner.ToObjectValue();

    /// <inheritdoc />
    public override bool IsNil() => Inner.IsNil();

    /// <inheritdoc />
    public override bool Contains(FluidValue value) => Inner.Contains(Unwrap(value));

    /// <inheritdoc />
    public override IEnumerable<FluidValue> Enumerate(TemplateContext context) => Inner.Enumerate(context).Select(Wrap);

    /// <inheritdoc />
    public override async ValueTask<FluidValue> GetValueAsync(string name, TemplateContext context) => Wrap(await Inner.GetValueAsync(name, context));

    /// <inheritdoc />
    public override async ValueTask<FluidValue> GetIndexAsync(FluidValue index, TemplateContext context) => Wrap(await Inner.GetIndexAsync(Unwrap(index), context));

    /// <inheritdoc />
    [Obsolete("WriteTo is obsolete, prefer the WriteToAsync method.")]
    public override void WriteTo(TextWriter writer, TextEncoder encoder, CultureInfo cultureInfo) =>
        WriteToAsync(writer, encoder, cultureInfo).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override async ValueTask WriteToAsync(TextWriter writer, TextEncoder encoder, CultureInfo cultureInfo)
    {
        if (encoder is not YamlEncoder)
        {
            await Inner.WriteToAsync(writer, encoder, cultureInfo);
            return;
        }
        if (Inner is NumberValue or BooleanValue)
        {
            // Digits, '.', '-', true or false: nothing YAML could read as structure.
            writer.Write(Inner is BooleanValue ? (Inner.ToBooleanValue() ? "true" : "false") : Inner.ToNumberValue().ToString(CultureInfo.InvariantCulture));
            return;
        }
        if (Inner is DictionaryValue map)
        {
            writer.Write('{');
            var first = true;
            foreach (var key in ((IFluidIndexable)map.ToObjectValue()).Keys)
            {
                writer.Write(first ? "" : ", ");
                first = false;
                YamlEncoder.Write(writer, key);
                writer.Write(": ");
                await Wrap(await map.GetValueAsync(key, null!)).WriteToAsync(writer, encoder, cultureInfo);
            }
            writer.Write('}');
            return;
        }
        writer.Write('[');
        var i = 0;
        foreach (var item in ((ArrayValue)Inner).Values)
        {
            writer.Write(i++ == 0 ? "" : ", ");
            await Wrap(item).WriteToAsync(writer, encoder, cultureInfo);
        }
        writer.Write(']');
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is FluidValue value && Equals(value);

    /// <inheritdoc />
    public override int GetHashCode() => Inner.GetHashCode();
}
