namespace Glance.Grains.Catalog;

/// <summary>
/// The catalog's layout and size warning, bound from <c>Glance:Catalog</c>. The layout is chosen
/// for a new cluster: it is recorded in the catalog store on first start, and every later start,
/// on every node, must name the same one (<see cref="CatalogLayoutCheck"/>).
/// </summary>
public sealed class CatalogOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Catalog";

    /// <summary>Most shards a layout may have: a list request asks every shard.</summary>
    public const int MaxShards = 1024;

    /// <summary>Number of catalog (and task and template index) shards; default 4.</summary>
    public int Shards { get; set; } = CatalogLayout.Default.Shards;

    /// <summary>How many shards one owner's images are spread over (1 to <see cref="Shards"/>); default 2.</summary>
    public int SpreadPerOwner { get; set; } = CatalogLayout.Default.SpreadPerOwner;

    /// <summary>A shard holding more entries than this (in memory) logs a warning; default 1,000,000.</summary>
    public int ShardEntryWarning { get; set; } = 1_000_000;

    /// <summary>The layout these options name.</summary>
    public CatalogLayout Layout => new(Shards, SpreadPerOwner);

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        Shards is < 1 or > MaxShards ? $"{Section}:Shards must be 1 to {MaxShards} (it is {Shards})."
        : SpreadPerOwner < 1 || SpreadPerOwner > Shards ? $"{Section}:SpreadPerOwner must be 1 to {Section}:Shards ({Shards}); it is {SpreadPerOwner}."
        : ShardEntryWarning < 1 ? $"{Section}:ShardEntryWarning must be positive (it is {ShardEntryWarning})."
        : null;

    /// <summary>The options in <paramref name="configuration"/>, checked.</summary>
    public static CatalogOptions From(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var options = Microsoft.Extensions.Configuration.ConfigurationBinder.Get<CatalogOptions>(configuration.GetSection(Section)) ?? new CatalogOptions();
        return options.Problem() is { } problem ? throw new InvalidOperationException(problem) : options;
    }
}
