namespace Glance.Grains.Images;

/// <summary>
/// Interoperable image import (Glance's <c>enabled_import_methods</c> and
/// <c>[import_filtering_opts]</c>), bound from <c>Glance:Import</c>. Lists are given as
/// configuration arrays, e.g. <c>--Glance:Import:AllowedPorts:0=8080</c>; a list left unset
/// keeps its default.
/// </summary>
public sealed class ImportOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Import";

    /// <summary>Import methods offered (default: glance-direct, web-download).</summary>
    public string[]? EnabledMethods { get; set; }

    /// <summary>Ports a web-download URI may name (default 80 and 443; a URI without a port uses its scheme's).</summary>
    public int[]? AllowedPorts { get; set; }

    /// <summary>
    /// If set, the only hosts web-download may fetch from (names or addresses, as written in the URI).
    /// A host listed here may also be a loopback or link-local address, which is refused otherwise.
    /// </summary>
    public string[]? AllowedHosts { get; set; }

    /// <summary>Longest wait for the response headers of a web-download, and between two reads of its body.</summary>
    public TimeSpan WebDownloadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The methods in effect, in Glance's order.</summary>
    public ImmutableArray<string> Methods =>
        EnabledMethods is { } methods ? [.. methods.Where(m => !string.IsNullOrWhiteSpace(m)).Select(m => m.Trim()).Distinct()] : ImportMethods.All;

    /// <summary>The ports in effect.</summary>
    public ImmutableArray<int> Ports => AllowedPorts is { } ports ? [.. ports] : [80, 443];

    /// <summary>The allowed hosts in effect, normalised (lower case, no brackets or trailing dot); empty means any.</summary>
    public ImmutableHashSet<string> Hosts => AllowedHosts is { } hosts
        ? [.. hosts.Where(h => !string.IsNullOrWhiteSpace(h)).Select(WebDownloadFilter.NormalizeHost)]
        : [];

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        Methods.FirstOrDefault(m => !ImportMethods.All.Contains(m)) is { } unknown
            ? $"{Section}:EnabledMethods names '{unknown}'; this service implements {string.Join(", ", ImportMethods.All)}."
            : Ports.Any(p => p is < 1 or > 65535) ? $"{Section}:AllowedPorts must be TCP ports (1-65535)."
            : WebDownloadTimeout <= TimeSpan.Zero ? $"{Section}:WebDownloadTimeout must be positive."
            : null;
}
