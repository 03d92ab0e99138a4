using System.Text.RegularExpressions;

namespace Glance.Grains.Extensions.PropertyProtections;

/// <summary>
/// Glance's property protections (roles format): an optional rules file of sections, each a
/// regular expression over property names with the roles that may <c>create</c>, <c>read</c>,
/// <c>update</c> and <c>delete</c> matching properties. The first section whose expression
/// matches (anywhere in the name, as Python's <c>re.search</c>) wins; a name no section matches
/// may not be touched at all; <c>@</c> allows every role, <c>!</c> none, a missing operation none.
/// Applied in the grains, so HTTP and direct grain callers obey the same rules. No file: no rules.
/// </summary>
public sealed class PropertyProtections
{
    /// <summary>The operations a rule names.</summary>
    public static readonly ImmutableArray<string> Operations = ["create", "read", "update", "delete"];

    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(200);

    private readonly ImmutableArray<(Regex Pattern, ImmutableDictionary<string, ImmutableArray<string>> Roles)> _rules;

    private PropertyProtections(ImmutableArray<(Regex, ImmutableDictionary<string, ImmutableArray<string>>)> rules, bool enabled)
    {
        _rules = rules;
        Enabled = enabled;
    }

    /// <summary>No rules file: every operation is allowed.</summary>
    public static PropertyProtections None { get; } = new([], enabled: false);

    /// <summary>True when a rules file is in force.</summary>
    public bool Enabled { get; }

    /// <summary>Reads the rules file at <paramref name="path"/> (null or empty: <see cref="None"/>); a bad file stops start-up.</summary>
    public static PropertyProtections Load(string? path) =>
        string.IsNullOrWhiteSpace(path) ? None : Parse(File.ReadAllText(path), path);

    /// <summary>Parses the INI text of a rules file; <see cref="InvalidOperationException"/> naming the problem when it is invalid.</summary>
    public static PropertyProtections Parse(string text, string source = "property protections")
    {
        var rules = new List<(Regex, Dictionary<string, ImmutableArray<string>>)>();
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }
            if (line[0] == '[' && line[^1] == ']')
            {
                var expression = line[1..^1];
                try
                {
                    rules.Add((new Regex(expression, RegexOptions.None, MatchTimeout), new Dictionary<string, ImmutableArray<string>>()));
                }
                catch (ArgumentException e)
                {
                    throw new InvalidOperationException($"{source}:{lineNumber}: '{expression}' is not a valid regular expression: {e.Message}");
                }
                continue;
            }
            var equals = line.IndexOf('=');
            if (equals < 0 || rules.Count == 0)
            {
                throw new InvalidOperationException($"{source}:{lineNumber}: expected '[expression]' or 'operation = roles'.");
            }
            var operation = line[..equals].Trim().ToLowerInvariant();
            if (!Operations.Contains(operation))
            {
                throw new InvalidOperationException($"{source}:{lineNumber}: unknown operation '{operation}' (use create, read, update, delete).");
            }
            var roles = line[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(r => r.ToLowerInvariant()).ToImmutableArray();
            if ((roles.Contains("@") || roles.Contains("!")) && roles.Length > 1)
            {
                throw new InvalidOperationException($"{source}:{lineNumber}: '@' and '!' must stand alone.");
            }
            rules[^1].Item2[operation] = roles;
        }
        return new PropertyProtections([.. rules.Select(r => (r.Item1, r.Item2.ToImmutableDictionary()))], enabled: true);
    }

    /// <summary>May <paramref name="caller"/> perform <paramref name="operation"/> on the property <paramref name="name"/>?</summary>
    public bool Allows(Caller caller, string name, string operation)
    {
        if (!Enabled)
        {
            return true;
        }
        foreach (var (pattern, roles) in _rules)
        {
            bool matches;
            try
            {
                matches = pattern.IsMatch(name);
            }
            catch (RegexMatchTimeoutException)
            {
                return false;
            }
            if (!matches)
            {
                continue;
            }
            if (!roles.TryGetValue(operation, out var allowed) || allowed.Contains("!"))
            {
                return false;
            }
            return allowed.Contains("@") || allowed.Any(r => caller.Roles.Contains(r));
        }
        return false;
    }

    /// <summary>Throws 403 unless <see cref="Allows"/>.</summary>
    public void Ensure(Caller caller, string name, string operation)
    {
        if (!Allows(caller, name, operation))
        {
            throw GlanceException.Forbidden($"Property '{name}' is protected: your roles may not {operation} it.");
        }
    }
}
