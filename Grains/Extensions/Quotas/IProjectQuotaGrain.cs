namespace Glance.Grains.Extensions.Quotas;

/// <summary>
/// One project's quota ledger, keyed by project id: usage is what the catalog holds for the
/// project plus the reservations of operations in flight, so that concurrent creates and uploads
/// are checked one at a time against the same numbers and never exceed a limit together.
/// Internal to the quotas extension (its filter and <c>/v2/info/usage</c>).
/// </summary>
[Alias("glance.IProjectQuotaGrain"), Hosting.ServiceNodesOnly]
public interface IProjectQuotaGrain : IGrainWithStringKey
{
    /// <summary>Each key's limit and usage (reservations included).</summary>
    [Alias("usage")]
    Task<ImmutableArray<QuotaReport>> UsageAsync();

    /// <summary>
    /// Reserves <paramref name="need"/> under <paramref name="reservation"/>, or throws 413 naming the
    /// first limit it would pass. With <paramref name="image"/>, the need stands for that image's
    /// whole share while held (the catalog's entry for it is left out), so that the moment the
    /// catalog already shows the operation's result and the reservation is not yet released never
    /// counts it twice. A null byte need takes all the headroom left (an upload of unknown size);
    /// the answer is the bytes reserved (null: unlimited).
    /// </summary>
    [Alias("reserve")]
    Task<long?> ReserveAsync(Guid reservation, Guid? image, QuotaNeed need);

    /// <summary>Moves a reservation to a new id (the upload's), which its renewals and completion name.</summary>
    [Alias("retain")]
    Task RetainAsync(Guid reservation, Guid upload);

    /// <summary>Extends a reservation's lease (an upload still streaming).</summary>
    [Alias("touch")]
    Task TouchAsync(Guid reservation);

    /// <summary>Drops a reservation (its operation ended; the catalog now counts what it left).</summary>
    [Alias("release")]
    Task ReleaseAsync(Guid reservation);
}

/// <summary>What an operation needs: images, images in upload, and bytes (null: all that is left).</summary>
[GenerateSerializer, Immutable, Alias("glance.quota-need")]
public sealed record QuotaNeed(
    [property: Id(0)] long Images = 0,
    [property: Id(1)] long Uploading = 0,
    [property: Id(2)] long? Bytes = 0,
    [property: Id(3)] long? StagedBytes = 0);

/// <summary>One key's limit (-1 unlimited) and usage, in Glance's units (MiB for sizes).</summary>
[GenerateSerializer, Immutable, Alias("glance.quota-report")]
public sealed record QuotaReport([property: Id(0)] string Key, [property: Id(1)] long Limit, [property: Id(2)] long Usage);
