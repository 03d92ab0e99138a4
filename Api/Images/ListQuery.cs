using System.Globalization;
using System.Text;
using Glance.Grains.Catalog;
using SortKey = Glance.Grains.Catalog.SortKey;

namespace Glance.Api.Images;

/// <summary>
/// Translates <c>GET /v2/images</c> query parameters (Glance's filter language, spec section 4)
/// into an <see cref="ImageQuery"/>, and builds the <c>first</c>/<c>next</c> links.
/// </summary>
public static class ListQuery
{
    private static readonly Dictionary<string, SortKey> SortKeys = new()
    {
        ["name"] = SortKey.Name, ["status"] = SortKey.Status, ["container_format"] = SortKey.ContainerFormat,
        ["disk_format"] = SortKey.DiskFormat, ["size"] = SortKey.Size, ["id"] = SortKey.Id,
        ["created_at"] = SortKey.CreatedAt, ["updated_at"] = SortKey.UpdatedAt,
    };

    private static readonly Dictionary<string, FilterOp> Operators = new()
    {
        ["eq"] = FilterOp.Eq, ["neq"] = FilterOp.Neq, ["in"] = FilterOp.In, ["gt"] = FilterOp.Gt,
        ["gte"] = FilterOp.Gte, ["lt"] = FilterOp.Lt, ["lte"] = FilterOp.Lte,
    };

    private static readonly HashSet<string> Paging = ["limit", "marker", "sort_key", "sort_dir", "sort"];

    /// <summary>Parses the query; 400 for anything Glance rejects.</summary>
    public static ImageQuery Parse(IQueryCollection parameters)
    {
        var query = new ImageQuery
        {
            Limit = Limit(parameters["limit"]),
            Marker = Marker(parameters["marker"]),
            Sort = Sort(parameters),
        };
        var tags = ImmutableArray.CreateBuilder<string>();
        var filters = ImmutableArray.CreateBuilder<AttributeFilter>();
        foreach (var (key, values) in parameters)
        {
            if (Paging.Contains(key))
            {
                continue;
            }
            var value = values.LastOrDefault() ?? "";
            switch (key)
            {
                case "tag":
                    tags.AddRange(values.OfType<string>());
                    break;
                case "visibility":
                    query = query with { Visibility = Visibility(value) };
                    break;
                case "member_status":
                    query = query with { MemberStatus = value == "all" ? null
                        : WireNames.TryParse(value, out MemberStatus status) ? status
                        : throw GlanceException.BadRequest($"Invalid status: {value}") };
                    break;
                case "os_hidden":
                    // Glance lower-cases this one (not `protected`): openstacksdk's find sends os_hidden=True.
                    query = query with { OsHidden = Boolean(key, value.ToLowerInvariant()) };
                    break;
                case "protected":
                    filters.Add(new AttributeFilter(key, FilterOp.Eq, [Boolean(key, value) ? "true" : "false"]));
                    break;
                case "size_min":
                    query = query with { SizeMin = Number(key, value) };
                    break;
                case "size_max":
                    query = query with { SizeMax = Number(key, value) };
                    break;
                case "changes-since":
                    throw GlanceException.BadRequest("The 'changes-since' filter is no longer available on v2.");
                case "created_at" or "updated_at":
                    filters.Add(TimeFilter(key, value));
                    break;
                default:
                    filters.Add(Filter(key, value));
                    break;
            }
        }
        return query with { Tags = tags.ToImmutable(), Filters = filters.ToImmutable() };
    }

    /// <summary>
    /// <c>first</c>: the request's query without the marker; <c>next</c>: the query with the
    /// marker set to the last image. Like Glance, a repeated parameter keeps its last value.
    /// </summary>
    public static (string First, string Next) Links(IQueryCollection parameters, Guid? lastId, string path = "/v2/images")
    {
        var pairs = parameters.Select(p => (p.Key, Value: p.Value.LastOrDefault() ?? "")).ToList();
        var first = Encode(pairs.Where(p => p.Key != "marker"));
        var markerAt = pairs.FindIndex(p => p.Key == "marker");
        var marker = ("marker", lastId?.ToString() ?? "");
        if (markerAt >= 0)
        {
            pairs[markerAt] = marker;
        }
        else
        {
            pairs.Add(marker);
        }
        return (path + first, path + Encode(pairs));
    }

    private static string Encode(IEnumerable<(string Key, string Value)> pairs)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            text.Append(text.Length == 0 ? '?' : '&').Append(Plus(key)).Append('=').Append(Plus(value));
        }
        return text.ToString();
    }

    // Python's urlencode (quote_plus), which Glance uses for its links.
    private static string Plus(string text) => Uri.EscapeDataString(text).Replace("%20", "+");

    /// <summary>The <c>limit</c> parameter, as Glance checks it (server templates page the same way).</summary>
    public static int Limit(Microsoft.Extensions.Primitives.StringValues values)
    {
        if (values.Count == 0)
        {
            return ImageQuery.DefaultLimit;
        }
        if (!int.TryParse(values.LastOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit))
        {
            throw GlanceException.BadRequest("limit param must be an integer");
        }
        return limit < 0 ? throw GlanceException.BadRequest("limit param must be positive") : Math.Min(limit, ImageQuery.MaxLimit);
    }

    /// <summary>The <c>marker</c> parameter, as Glance checks it.</summary>
    public static Guid? Marker(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count == 0 ? null
        : Guid.TryParse(values.LastOrDefault(), out var marker) ? marker
        : throw GlanceException.BadRequest($"marker {values.LastOrDefault()} could not be found.");

    private static ImmutableArray<SortCriterion> Sort(IQueryCollection parameters)
    {
        var keys = parameters["sort_key"];
        var dirs = parameters["sort_dir"];
        if (parameters.TryGetValue("sort", out var sort))
        {
            if (keys.Count > 0 || dirs.Count > 0)
            {
                throw GlanceException.BadRequest("Old and new sorting syntax cannot be combined");
            }
            return [.. (sort.LastOrDefault() ?? "").Split(',').Select(item =>
            {
                var parts = item.Split(':', 2);
                return new SortCriterion(SortKeyOf(parts[0].Trim()), parts.Length < 2 || Descending(parts[1].Trim()));
            })];
        }
        if (dirs.Count > 1 && dirs.Count != keys.Count)
        {
            throw GlanceException.BadRequest("Number of sort dirs does not match the number of sort keys");
        }
        if (keys.Count == 0)
        {
            return dirs.Count == 0 ? [] : [new SortCriterion(SortKey.CreatedAt, Descending(dirs[0]!))];
        }
        return [.. keys.Select((key, i) => new SortCriterion(
            SortKeyOf(key!), dirs.Count == 0 || Descending(dirs[dirs.Count == 1 ? 0 : i]!)))];
    }

    private static SortKey SortKeyOf(string key) =>
        SortKeys.TryGetValue(key, out var sortKey) ? sortKey : throw GlanceException.BadRequest($"Invalid sort key: {key}. It must be one of the following: {string.Join(", ", SortKeys.Keys)}.");

    /// <summary>The <c>sort_dir</c> parameter.</summary>
    public static bool Descending(string dir) => dir switch
    {
        "desc" => true,
        "asc" => false,
        _ => throw GlanceException.BadRequest($"Invalid sort direction: {dir}"),
    };

    /// <summary>The <c>visibility</c> filter.</summary>
    public static VisibilityScope Visibility(string value) => value switch
    {
        "public" => VisibilityScope.Public,
        "private" => VisibilityScope.Private,
        "shared" => VisibilityScope.Shared,
        "community" => VisibilityScope.Community,
        "all" => VisibilityScope.All,
        _ => throw GlanceException.BadRequest($"Invalid visibility value: {value}"),
    };

    private static bool Boolean(string key, string value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw GlanceException.BadRequest($"Invalid value '{value}' for '{key}' filter: must be 'true' or 'false'."),
    };

    private static long Number(string key, string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw GlanceException.BadRequest($"Invalid value for {key}: {value}");

    private static AttributeFilter TimeFilter(string key, string value)
    {
        var (op, operand) = SplitOperator(value);
        if (op == FilterOp.In)
        {
            throw GlanceException.BadRequest($"Unable to filter on {key} with operator 'in'.");
        }
        Glance.Grains.Catalog.ImageFilter.ParseTime(operand);
        return new AttributeFilter(key, op, [operand]);
    }

    private static AttributeFilter Filter(string key, string value)
    {
        var (op, operand) = SplitOperator(value);
        return new AttributeFilter(key, op, op == FilterOp.In ? InValues(operand) : [operand]);
    }

    // "op:value" unless the whole value is an ISO date (which contains colons itself).
    private static (FilterOp Op, string Operand) SplitOperator(string value)
    {
        var colon = value.IndexOf(':');
        if (colon < 0 || IsIsoTime(value))
        {
            return (FilterOp.Eq, value);
        }
        var name = value[..colon];
        return Operators.TryGetValue(name, out var op)
            ? (op, value[(colon + 1)..])
            : throw GlanceException.BadRequest($"Unable to filter by unknown operator '{name}'.");
    }

    private static bool IsIsoTime(string value) =>
        value.Length >= 10 && char.IsDigit(value[0]) &&
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);

    /// <summary>Splits an <c>in:</c> list on commas; a value containing a comma is double-quoted.</summary>
    private static ImmutableArray<string> InValues(string list)
    {
        var values = ImmutableArray.CreateBuilder<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < list.Length; i++)
        {
            var c = list[i];
            if (c == '"')
            {
                if (!quoted && current.Length > 0)
                {
                    throw GlanceException.BadRequest("Invalid quoting in 'in' filter value.");
                }
                quoted = !quoted;
                if (!quoted && i + 1 < list.Length && list[i + 1] != ',')
                {
                    throw GlanceException.BadRequest("Invalid quoting in 'in' filter value.");
                }
            }
            else if (c == ',' && !quoted)
            {
                values.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }
        if (quoted)
        {
            throw GlanceException.BadRequest("Invalid quoting in 'in' filter value.");
        }
        values.Add(current.ToString());
        return values.ToImmutable();
    }
}
