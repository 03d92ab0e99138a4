using Glance.Grains.Identity;
using Glance.Grains.Images;

namespace Glance.Grains.Templates;

/// <summary>
/// One server template (keyed by its id): an image plus typed, versioned configuration. Ownership,
/// visibility and members follow the image rules (<c>ImageAccess</c>), checked here for every caller.
/// Versions are immutable and numbered by the grain, so concurrent creations never share a number.
/// </summary>
[Alias("glance.ITemplateGrain")]
public interface ITemplateGrain : IGrainWithGuidKey
{
    /// <summary>Creates the template with version 1 (409 when the id exists).</summary>
    [Alias("create")]
    Task<TemplateView> CreateAsync(Caller caller, TemplateDraft draft);

    /// <summary>The template with its default version (404 when missing or not visible).</summary>
    [ReadOnly, Alias("get")]
    Task<TemplateView> GetAsync(Caller caller);

    /// <summary>Applies a JSON patch on name, description, tags, visibility, protected, default_version.</summary>
    [Alias("update")]
    Task<TemplateView> UpdateAsync(Caller caller, ImmutableArray<PatchOperation> operations);

    /// <summary>Deletes the template (403 when protected).</summary>
    [Alias("delete")]
    Task DeleteAsync(Caller caller);

    /// <summary>Adds a new immutable version, optionally starting from version <paramref name="basedOn"/>.</summary>
    [Alias("add-version")]
    Task<TemplateVersion> CreateVersionAsync(Caller caller, string versionJson, int? basedOn);

    /// <summary>Every version, oldest first.</summary>
    [ReadOnly, Alias("versions")]
    Task<ImmutableArray<TemplateVersion>> ListVersionsAsync(Caller caller);

    /// <summary>One version: a number, <c>$default</c> or <c>$latest</c>.</summary>
    [ReadOnly, Alias("version")]
    Task<TemplateVersion> GetVersionAsync(Caller caller, string selector);

    /// <summary>A version with the template's id and name: what a render needs, under the same visibility rule.</summary>
    [ReadOnly, Alias("source")]
    Task<TemplateSource> GetSourceAsync(Caller caller, string selector);

    /// <summary>Deletes a version (409 for the default version).</summary>
    [Alias("delete-version")]
    Task DeleteVersionAsync(Caller caller, int number);

    /// <summary>Shares the template with a project (shared visibility only, owner or admin).</summary>
    [Alias("add-member")]
    Task<TemplateMember> AddMemberAsync(Caller caller, string memberId);

    /// <summary>The members (the owner sees all, a member itself).</summary>
    [ReadOnly, Alias("members")]
    Task<ImmutableArray<TemplateMember>> ListMembersAsync(Caller caller);

    /// <summary>One member.</summary>
    [ReadOnly, Alias("member")]
    Task<TemplateMember> GetMemberAsync(Caller caller, string memberId);

    /// <summary>The member's answer (only the member project may set it).</summary>
    [Alias("member-status")]
    Task<TemplateMember> SetMemberStatusAsync(Caller caller, string memberId, MemberStatus status);

    /// <summary>Stops sharing with a project.</summary>
    [Alias("remove-member")]
    Task RemoveMemberAsync(Caller caller, string memberId);
}

/// <summary>
/// Renders templates: a stateless worker, so renders run in parallel on every silo. It reads the
/// version through the template grain (which applies the visibility rules) and caches the parsed
/// template per immutable version.
/// </summary>
[Alias("glance.ITemplateRenderGrain")]
public interface ITemplateRenderGrain : IGrainWithIntegerKey
{
    /// <summary>Validates the parameters, resolves the image, checks requirements and renders.</summary>
    [Alias("render")]
    Task<RenderResult> RenderAsync(Caller caller, Guid templateId, RenderRequest request);
}

/// <summary>Lists templates from the owner-sharded template index, without activating template grains.</summary>
[Alias("glance.ITemplateCatalogGrain")]
public interface ITemplateCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>One page of the templates the caller may list, in the query's order.</summary>
    [ReadOnly, Alias("list")]
    Task<ImmutableArray<TemplateRecord>> ListAsync(Caller caller, TemplateQuery query);
}
