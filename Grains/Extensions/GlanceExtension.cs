using Glance.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Glance.Grains.Extensions;

/// <summary>How an extension touches the Images API (the <c>kind</c> of its listing).</summary>
public enum ExtensionKind
{
    /// <summary>Adds resources; the standard calls mean what they meant.</summary>
    Api,
    /// <summary>Changes what standard calls accept or do, in a documented way, in a grain call filter.</summary>
    Behaviour,
    /// <summary>Changes neither the API nor its answers (a cache).</summary>
    Transparent,
}

/// <summary>
/// One extension: what it is (its listing at <c>/v2/extensions</c>) and how it wires itself into a
/// host. It lives in its own folder, <c>Extensions/&lt;Name&gt;/</c>, is listed once in
/// <see cref="GlanceExtensions.Builtin"/>, and is switched and configured under
/// <c>Glance:Extensions:&lt;alias&gt;</c> (<c>Enabled</c> plus its own options). A disabled
/// extension registers nothing. Its HTTP part, if any, is a class in the Api's
/// <c>Extensions/&lt;Name&gt;/</c> folder named by the same alias.
/// </summary>
public abstract class GlanceExtension
{
    /// <summary>The short name in URLs and settings, e.g. <c>format-inspection</c>.</summary>
    public abstract string Alias { get; }

    /// <summary>A human name.</summary>
    public abstract string Name { get; }

    /// <summary>What it does, in a sentence or two.</summary>
    public abstract string Description { get; }

    /// <summary>When its behaviour last changed (the listing's <c>updated</c>).</summary>
    public abstract DateTimeOffset Updated { get; }

    /// <summary>How it touches the API.</summary>
    public abstract ExtensionKind Kind { get; }

    /// <summary>Its section of the README (the listing's <c>describedby</c> link).</summary>
    public virtual string Documentation => $"README.md#extension-{Alias}";

    /// <summary>Whether it is on when <c>Enabled</c> is not set, for the profile and settings given.</summary>
    public virtual bool EnabledByDefault(ExtensionSettings settings) => false;

    /// <summary>
    /// Services every host running it needs, silo and API node alike (options, the rules a filter
    /// applies). Called once per process even where the API node co-hosts the silo.
    /// </summary>
    public virtual void AddServices(IServiceCollection services, ExtensionSettings settings)
    {
    }

    /// <summary>The silo part: grain call filters, grain services.</summary>
    public virtual void AddSiloParts(ISiloBuilder silo, ExtensionSettings settings)
    {
    }

    /// <summary>
    /// The part of a stateless API node's Orleans client (outgoing filters that must see the calls
    /// of the node serving the request); a co-hosted silo gets them from <see cref="AddSiloParts"/>.
    /// </summary>
    public virtual void AddClientParts(IClientBuilder client, ExtensionSettings settings)
    {
    }
}

/// <summary>What an extension is configured with.</summary>
/// <param name="Section">Its own section, <c>Glance:Extensions:&lt;alias&gt;</c>.</param>
/// <param name="Configuration">The whole configuration (for settings older than the extension).</param>
/// <param name="Host">The host's profile and addresses.</param>
public sealed record ExtensionSettings(IConfigurationSection Section, IConfiguration Configuration, GlanceOptions Host)
{
    /// <summary>Its options class bound from <see cref="Section"/> (defaults when absent).</summary>
    public T Bind<T>() where T : new() => Section.Get<T>() ?? new T();
}
