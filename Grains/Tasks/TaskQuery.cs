using System.Globalization;

namespace Glance.Grains.Tasks;

/// <summary>
/// A <c>GET /v2/tasks</c> query as Glance's <c>tasks.RequestDeserializer.index</c> reads it: the first
/// <c>limit</c>, <c>marker</c>, <c>sort_key</c> and <c>sort_dir</c> page and order the list (a repeat is
/// left with the filters, where it filters nothing), every other parameter is a filter. A filter
/// naming a task column must equal it (all of them, a repeated name included); others are ignored.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.task-query")]
public sealed record TaskQuery
{
    /// <summary>Glance's <c>limit_param_default</c>.</summary>
    public const int DefaultLimit = 25;

    /// <summary>Glance's <c>api_limit_max</c>.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Page size (0 to <see cref="MaxLimit"/>).</summary>
    [Id(0)] public int Limit { get; init; } = DefaultLimit;

    /// <summary>The id of the task the page starts after, as given.</summary>
    [Id(1)] public string? Marker { get; init; }

    /// <summary>The column to sort by (then created_at and id).</summary>
    [Id(2)] public string SortKey { get; init; } = "created_at";

    /// <summary>Sort direction of every key.</summary>
    [Id(3)] public bool Descending { get; init; } = true;

    /// <summary>The filters, in request order.</summary>
    [Id(4)] public ImmutableArray<QueryParameter> Filters { get; init; } = [];

    private static readonly string[] Statuses = ["pending", "processing", "success", "failure"];

    /// <summary>Parses the query, with Glance's messages and in Glance's order (sort_dir, filters, marker, limit).</summary>
    public static TaskQuery Parse(ImmutableArray<QueryParameter> parameters)
    {
        var rest = parameters.IsDefault ? [] : parameters.ToList();
        string? Take(string name)
        {
            var index = rest.FindIndex(p => p.Name == name);
            if (index < 0)
            {
                return null;
            }
            var value = rest[index].Value;
            rest.RemoveAt(index);
            return value;
        }
        var limit = Take("limit");
        var marker = Take("marker");
        var sortDir = Take("sort_dir") ?? "desc";
        var sortKey = Take("sort_key") ?? "created_at";
        if (sortDir is not ("asc" or "desc"))
        {
            throw GlanceException.BadRequest($"Invalid sort direction: {sortDir}");
        }
        // As webob's MultiDict.get: the last value is the one checked.
        if (rest.LastOrDefault(p => p.Name == "status")?.Value is { Length: > 0 } status && !Statuses.Contains(status))
        {
            throw GlanceException.BadRequest($"Invalid status value: {status}");
        }
        if (rest.LastOrDefault(p => p.Name == "type")?.Value is { Length: > 0 } type && type != ImportMethods.LegacyTaskType)
        {
            throw GlanceException.BadRequest($"Invalid type value: {type}");
        }
        if (!string.IsNullOrEmpty(marker) && !IsUuidLike(marker))
        {
            throw GlanceException.BadRequest("Invalid marker format");
        }
        return new TaskQuery
        {
            Limit = limit is null ? DefaultLimit : Math.Min(ParseLimit(limit), MaxLimit),
            Marker = marker,
            SortKey = sortKey,
            Descending = sortDir == "desc",
            Filters = [.. rest],
        };
    }

    /// <summary>Does the task pass every filter?</summary>
    public bool Matches(ImageTask task)
    {
        foreach (var filter in Filters)
        {
            var matches = filter.Name switch
            {
                "id" or "type" or "status" or "owner" or "image_id" or "request_id" or "user_id" => TaskOrdering.Text(filter.Name, task) == filter.Value,
                // Glance compares a datetime column with the text given: no value ever matches.
                "created_at" or "updated_at" or "expires_at" or "deleted_at" => false,
                // "deleted" is Glance's own (always false); anything else is not a column: ignored.
                _ => true,
            };
            if (!matches)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The marker as a task id: only the canonical form names a task, as Glance's string ids.</summary>
    public static Guid? CanonicalId(string text) =>
        Guid.TryParse(text, out var id) && id.ToString() == text ? id : null;

    private static int ParseLimit(string text)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit))
        {
            throw GlanceException.BadRequest("limit param must be an integer");
        }
        return limit < 0 ? throw GlanceException.BadRequest("limit param must be positive") : limit;
    }

    // oslo's is_uuid_like: any case, with or without hyphens or braces.
    private static bool IsUuidLike(string text) => Guid.TryParse(text.Replace("urn:uuid:", "", StringComparison.OrdinalIgnoreCase), out _);
}

/// <summary>
/// The order of a task list, as Glance's <c>task_get_all</c>: the sort key, then created_at and id,
/// all in the one direction given (a sort on id or created_at is created_at then id). Nulls sort first
/// in ascending order, as in Glance's SQL.
/// </summary>
public sealed class TaskOrdering : IComparer<ImageTask>
{
    /// <summary>The task table's columns: what Glance accepts as a sort key.</summary>
    public static readonly ImmutableHashSet<string> Columns =
        ["id", "type", "status", "owner", "expires_at", "created_at", "updated_at", "deleted_at", "deleted", "image_id", "request_id", "user_id"];

    private readonly ImmutableArray<string> _keys;
    private readonly bool _descending;

    /// <summary>The ordering of <paramref name="query"/>; 400 when its sort key is not a column.</summary>
    public TaskOrdering(TaskQuery query)
    {
        if (!Columns.Contains(query.SortKey))
        {
            throw GlanceException.BadRequest("Sort key supplied was not valid.");
        }
        _keys = query.SortKey is "created_at" or "id" ? ["created_at", "id"] : [query.SortKey, "created_at", "id"];
        _descending = query.Descending;
    }

    /// <inheritdoc />
    public int Compare(ImageTask? x, ImageTask? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        foreach (var key in _keys)
        {
            var result = key switch
            {
                "created_at" => x.CreatedAt.CompareTo(y.CreatedAt),
                "updated_at" => x.UpdatedAt.CompareTo(y.UpdatedAt),
                "expires_at" => Nullable.Compare(x.ExpiresAt, y.ExpiresAt),
                "deleted" or "deleted_at" => 0, // the same for every listed task
                _ => string.CompareOrdinal(Text(key, x), Text(key, y)),
            };
            if (result != 0)
            {
                return _descending ? -result : result;
            }
        }
        return 0;
    }

    /// <summary>A text column's value as Glance stores it.</summary>
    public static string? Text(string column, ImageTask task) => column switch
    {
        "id" => task.Id.ToString(),
        "type" => task.Type,
        "status" => WireNames.Of(task.Status),
        "owner" => task.Owner,
        "image_id" => task.ImageId?.ToString(),
        "request_id" => task.RequestId,
        "user_id" => task.UserId,
        _ => null,
    };
}
