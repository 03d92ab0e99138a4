namespace Glance.Grains.Catalog;

/// <summary>
/// The order of a list: the requested keys, then created_at and id as Glance appends them
/// (in the direction of a lone sort key, else descending), so that every order is total and
/// a marker has one position.
/// Nulls sort first in ascending order, as in Glance's SQL.
/// </summary>
public sealed class ImageOrdering : IComparer<ImageRecord>
{
    /// <summary>Glance's default: newest first.</summary>
    public static readonly ImageOrdering Default = new([]);

    private readonly ImmutableArray<SortCriterion> _criteria;

    /// <summary>An ordering for the given criteria plus the tie-breakers.</summary>
    public ImageOrdering(ImmutableArray<SortCriterion> criteria)
    {
        var all = criteria.IsDefault ? [] : criteria;
        // Glance's _image_get_all: with a single sort direction the tie-breakers take that
        // direction (sort=name:asc ties go oldest first); otherwise they are descending.
        var tieBreakDescending = all.Length != 1 || all[0].Descending;
        if (!all.Any(c => c.Key == SortKey.CreatedAt))
        {
            all = all.Add(new SortCriterion(SortKey.CreatedAt, tieBreakDescending));
        }
        if (!all.Any(c => c.Key == SortKey.Id))
        {
            all = all.Add(new SortCriterion(SortKey.Id, tieBreakDescending));
        }
        _criteria = all;
    }

    /// <summary>True when this is the created_at-descending order the shards keep an index for.</summary>
    public bool IsNewestFirst => _criteria.Length == 2
        && _criteria[0] == new SortCriterion(SortKey.CreatedAt, true)
        && _criteria[1] == new SortCriterion(SortKey.Id, true);

    /// <summary>True for created_at ascending: the shards' index walked backwards.</summary>
    public bool IsOldestFirst => _criteria.Length == 2
        && _criteria[0] == new SortCriterion(SortKey.CreatedAt, false)
        && _criteria[1] == new SortCriterion(SortKey.Id, false);

    /// <inheritdoc />
    public int Compare(ImageRecord? x, ImageRecord? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        foreach (var criterion in _criteria)
        {
            var result = CompareBy(criterion.Key, x, y);
            if (result != 0)
            {
                return criterion.Descending ? -result : result;
            }
        }
        return 0;
    }

    private static int CompareBy(SortKey key, ImageRecord x, ImageRecord y) => key switch
    {
        SortKey.Name => string.CompareOrdinal(x.Name, y.Name),
        SortKey.Status => string.CompareOrdinal(WireNames.Of(x.Status), WireNames.Of(y.Status)),
        SortKey.ContainerFormat => string.CompareOrdinal(x.ContainerFormat, y.ContainerFormat),
        SortKey.DiskFormat => string.CompareOrdinal(x.DiskFormat, y.DiskFormat),
        SortKey.Size => Nullable.Compare(x.Size, y.Size),
        // Guid.CompareTo compares the fields unsigned, in the order they print: the same as comparing the strings.
        SortKey.Id => x.Id.CompareTo(y.Id),
        SortKey.CreatedAt => x.CreatedAt.CompareTo(y.CreatedAt),
        SortKey.UpdatedAt => x.UpdatedAt.CompareTo(y.UpdatedAt),
        _ => 0,
    };
}
