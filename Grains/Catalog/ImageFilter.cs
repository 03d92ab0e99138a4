using System.Globalization;
using Glance.Grains.Properties;

namespace Glance.Grains.Catalog;

/// <summary>
/// A query's filters compiled once into a predicate over catalog entries: visibility for
/// the caller, hidden flag, tags, size range, attribute and property filters.
/// </summary>
public sealed class ImageFilter
{
    private readonly Caller _caller;
    private readonly ImageQuery _query;
    private readonly ImmutableArray<Func<ImageRecord, bool>> _predicates;

    /// <summary>Compiles the query; a filter value of the wrong type is a bad request.</summary>
    public ImageFilter(Caller caller, ImageQuery query, PropertyProtections? protections = null)
    {
        _caller = caller;
        _query = query;
        var predicates = ImmutableArray.CreateBuilder<Func<ImageRecord, bool>>();
        foreach (var tag in query.Tags.IsDefault ? [] : query.Tags)
        {
            predicates.Add(image => image.Tags.Contains(tag));
        }
        if (query.SizeMin is { } min)
        {
            predicates.Add(image => image.Size >= min);
        }
        if (query.SizeMax is { } max)
        {
            predicates.Add(image => image.Size <= max);
        }
        foreach (var filter in query.Filters.IsDefault ? [] : query.Filters)
        {
            predicates.Add(Compile(caller, filter, protections));
        }
        _predicates = predicates.ToImmutable();
    }

    /// <summary>Does the entry belong in the caller's result?</summary>
    public bool Matches(CatalogEntry entry)
    {
        if (!ImageAccess.IsListed(_caller, entry.Image, entry.Members, _query))
        {
            return false;
        }
        foreach (var predicate in _predicates)
        {
            if (!predicate(entry.Image))
            {
                return false;
            }
        }
        return true;
    }

    private static Func<ImageRecord, bool> Compile(Caller caller, AttributeFilter filter, PropertyProtections? protections)
    {
        switch (filter.Attribute)
        {
            case "created_at" or "updated_at":
                var times = filter.Values.Select(ParseTime).ToImmutableArray();
                Func<ImageRecord, DateTimeOffset> time = filter.Attribute == "created_at" ? i => i.CreatedAt : i => i.UpdatedAt;
                return image => Test(filter.Op, time(image), times);
            case "size" or "virtual_size" or "min_disk" or "min_ram":
                var numbers = filter.Values.Select(v => ParseNumber(filter.Attribute, v)).ToImmutableArray();
                Func<ImageRecord, long?> number = filter.Attribute switch
                {
                    "size" => i => i.Size,
                    "virtual_size" => i => i.VirtualSize,
                    "min_disk" => i => i.MinDisk,
                    _ => i => i.MinRam,
                };
                return image => number(image) is { } value && Test(filter.Op, value, numbers);
            case "protected" or "os_hidden":
                var flag = ParseBool(filter.Attribute, filter.Values.FirstOrDefault());
                return filter.Attribute == "protected" ? image => image.Protected == flag : image => image.OsHidden == flag;
            default:
                var text = TextOf(caller, filter.Attribute, protections);
                return image => text(image) is { } value && Test(filter.Op, value, filter.Values);
        }
    }

    private static Func<ImageRecord, string?> TextOf(Caller caller, string attribute, PropertyProtections? protections) => attribute switch
    {
        "id" => i => i.Id.ToString(),
        "name" => i => i.Name,
        "status" => i => WireNames.Of(i.Status),
        "visibility" => i => WireNames.Of(i.Visibility),
        "container_format" => i => i.ContainerFormat,
        "disk_format" => i => i.DiskFormat,
        "owner" => i => i.Owner,
        "checksum" => i => i.Checksum,
        "os_hash_algo" => i => i.OsHashAlgo,
        "os_hash_value" => i => i.OsHashValue,
        // A property the caller may not see is absent for it: a filter on it matches nothing.
        _ => i => i.Properties.TryGetValue(attribute, out var value) && ImageAccess.CanSeeProperty(caller, i, attribute, protections) ? value : null,
    };

    private static bool Test<T>(FilterOp op, T value, ImmutableArray<T> operands) where T : IComparable<T>
    {
        if (op == FilterOp.In)
        {
            return operands.Any(o => value.CompareTo(o) == 0);
        }
        var c = value.CompareTo(operands[0]);
        return op switch
        {
            FilterOp.Eq => c == 0,
            FilterOp.Neq => c != 0,
            FilterOp.Gt => c > 0,
            FilterOp.Gte => c >= 0,
            FilterOp.Lt => c < 0,
            FilterOp.Lte => c <= 0,
            _ => false,
        };
    }

    /// <summary>Parses an ISO 8601 time as Glance accepts it in filters.</summary>
    public static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw GlanceException.BadRequest($"Bad \"{value}\" query filter format. Use ISO 8601 DateTime notation.");

    private static long ParseNumber(string attribute, string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw GlanceException.BadRequest($"Unable to filter on a range with a non-numeric value for '{attribute}'.");

    private static bool ParseBool(string attribute, string? value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw GlanceException.BadRequest($"Invalid value '{value}' for '{attribute}' filter: must be 'true' or 'false'."),
    };
}
