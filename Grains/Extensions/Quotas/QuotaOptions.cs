using Microsoft.Extensions.Options;

namespace Glance.Grains.Extensions.Quotas;

/// <summary>
/// Per-project limits with Glance's unified-limits keys, from configuration:
/// <c>Glance:Extensions:quotas:Limits:&lt;key&gt;</c> for every project,
/// <c>Glance:Extensions:quotas:Projects:&lt;project id&gt;:&lt;key&gt;</c> to override; -1 (or absent) is
/// unlimited. Sizes are MiB, counts are images, as in Glance.
/// </summary>
public sealed class QuotaOptions
{
    /// <summary>Total MiB of image data a project stores.</summary>
    public const string ImageSizeTotal = "image_size_total";

    /// <summary>Total MiB a project has staged for import.</summary>
    public const string ImageStageTotal = "image_stage_total";

    /// <summary>Images a project owns.</summary>
    public const string ImageCountTotal = "image_count_total";

    /// <summary>Images a project is uploading, staging or importing at once.</summary>
    public const string ImageCountUploading = "image_count_uploading";

    /// <summary>Every key, in Glance's order.</summary>
    public static readonly ImmutableArray<string> Keys = [ImageSizeTotal, ImageStageTotal, ImageCountTotal, ImageCountUploading];

    /// <summary>The limits for every project.</summary>
    public Dictionary<string, long> Limits { get; set; } = [];

    /// <summary>Per-project overrides, by project id.</summary>
    public Dictionary<string, Dictionary<string, long>> Projects { get; set; } = [];

    /// <summary>How long a reservation of an upload in flight lasts without the streaming node's renewal.</summary>
    public TimeSpan ReservationLease { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>The limit of <paramref name="key"/> for <paramref name="project"/>; -1 when unlimited.</summary>
    public long Limit(string project, string key) =>
        Projects.TryGetValue(project, out var own) && own.TryGetValue(key, out var limit) ? limit
        : Limits.TryGetValue(key, out var all) ? all
        : -1;

    /// <summary>True when any limit is set.</summary>
    public bool Any => Limits.Count > 0 || Projects.Values.Any(p => p.Count > 0);

    /// <summary>Why the settings cannot be used; null when they can.</summary>
    public string? Problem()
    {
        foreach (var (scope, limits) in Projects.Select(p => ($"Projects:{p.Key}", p.Value)).Prepend(("Limits", Limits)))
        {
            foreach (var (key, value) in limits)
            {
                if (!Keys.Contains(key))
                {
                    return $"{scope}:{key} is not a quota (use {string.Join(", ", Keys)})";
                }
                if (value < -1)
                {
                    return $"{scope}:{key} must be -1 (unlimited) or more";
                }
            }
        }
        return ReservationLease <= TimeSpan.Zero ? "ReservationLease must be positive" : null;
    }
}

/// <summary>Checks <see cref="QuotaOptions"/> at start-up.</summary>
internal sealed class QuotaOptionsValidator : IValidateOptions<QuotaOptions>
{
    public ValidateOptionsResult Validate(string? name, QuotaOptions options) =>
        options.Problem() is { } problem ? ValidateOptionsResult.Fail($"{GlanceExtensions.Section}:quotas: {problem}") : ValidateOptionsResult.Success;
}
