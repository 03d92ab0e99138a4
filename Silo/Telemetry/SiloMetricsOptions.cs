using System.Net;
using Microsoft.Extensions.Configuration;

namespace Glance.Silo.Telemetry;

/// <summary>
/// A headless silo's Prometheus listener (<c>Glance:Metrics</c>, the section the API's <c>/metrics</c>
/// uses): <c>/metrics</c> on a port of its own, on loopback unless <see cref="Address"/> says otherwise,
/// answered by a small HTTP server beside the silo (never a grain call). Off unless a port is set,
/// so several silos on one machine never collide. No identity: whoever reaches the port reads the
/// silo's counters (never image data), as with the dashboard's port.
/// </summary>
public sealed class SiloMetricsOptions
{
    /// <summary>Configuration section (shared with the API's metrics settings).</summary>
    public const string Section = "Glance:Metrics";

    /// <summary>The path Prometheus scrapes.</summary>
    public const string Path = "/metrics";

    /// <summary>False turns the listener off as it removes the API's route (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The listener's TCP port; null (the default): no listener.</summary>
    public int? Port { get; set; }

    /// <summary>The address it listens on (default 127.0.0.1: this machine only).</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Whether the silo serves <c>/metrics</c>.</summary>
    public bool Listens => Enabled && Port is not null;

    /// <summary>The settings in <paramref name="configuration"/>.</summary>
    public static SiloMetricsOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<SiloMetricsOptions>() ?? new SiloMetricsOptions();

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        Port is < 1 or > 65535 ? $"{Section}:Port must be a TCP port (1-65535), or unset for no listener."
        : !IPAddress.TryParse(Address, out _) ? $"{Section}:Address must be an IP address (default 127.0.0.1)."
        : null;
}
