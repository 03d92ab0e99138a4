using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace Glance.Grains.Templates;

/// <summary>
/// One server template. The grain is the single writer of its template: version numbers come from
/// its state (never repeated, even under concurrent creates, since calls run one at a time). After
/// each write it publishes its entry to its index shard (<see cref="TemplateShardGrain"/>).
/// Visibility, ownership and members follow the image rules (<see cref="ImageAccess"/>).
/// </summary>
[GrainType("glance.template")]
public sealed class TemplateGrain(
    [PersistentState("template", GlanceStorage.ProviderName)] IPersistentState<TemplateState> state,
    TimeProvider clock,
    ILogger<TemplateGrain> logger) : Grain, ITemplateGrain, ITemplateMaintenanceGrain
{
    /// <summary>Most versions one template keeps (delete old ones to add more).</summary>
    public const int MaxVersions = 100;

    /// <summary>Most members one template has (as the image member quota's default).</summary>
    public const int MaxMembers = 128;

    private const int MaxText = 255;
    private static readonly TimeSpan IndexCallTimeout = TimeSpan.FromSeconds(5);

    private TemplateView? _view;
    private ImmutableDictionary<string, MemberStatus>? _memberStatuses;
    private readonly PublishRetry _indexRetry = new();

    private Guid Id => this.GetPrimaryKey();

    async Task<TemplateView> ITemplateGrain.CreateAsync(Caller caller, TemplateDraft draft)
    {
        if (state.State.CreatedAt is not null)
        {
            throw GlanceException.Conflict($"Template ID {Id} already exists!");
        }
        if (string.IsNullOrEmpty(caller.ProjectId))
        {
            throw GlanceException.Forbidden("A caller without a project cannot create templates.");
        }
        var spec = TemplateSpec.Parse(draft.VersionJson);
        var now = Now();
        var created = new TemplateState
        {
            CreatedAt = now,
            UpdatedAt = now,
            Name = CheckName(draft.Name),
            Description = CheckText(draft.Description, "description"),
            Visibility = draft.Visibility,
            Owner = caller.ProjectId,
            Protected = draft.Protected,
            Tags = new SortedSet<string>(CheckTags(draft.Tags), StringComparer.Ordinal),
            DefaultVersion = 1,
            NextNumber = 2,
        };
        created.Versions[1] = new TemplateVersion(1, now, null, spec.Json);
        await SaveAsync(created);
        return View;
    }

    Task<TemplateView> ITemplateGrain.GetAsync(Caller caller)
    {
        Visible(caller);
        return Task.FromResult(View);
    }

    async Task<TemplateView> ITemplateGrain.UpdateAsync(Caller caller, ImmutableArray<PatchOperation> operations)
    {
        Modifiable(caller);
        var draft = state.State.Clone();
        foreach (var operation in operations)
        {
            Apply(draft, operation);
        }
        draft.UpdatedAt = Now();
        await SaveAsync(draft);
        return View;
    }

    async Task ITemplateGrain.DeleteAsync(Caller caller)
    {
        Modifiable(caller);
        if (state.State.Protected)
        {
            throw GlanceException.Forbidden($"Template {Id} is protected and cannot be deleted.");
        }
        var draft = state.State.Clone();
        draft.Deleted = true;
        draft.Versions.Clear();
        draft.Members.Clear();
        draft.UpdatedAt = Now();
        await SaveAsync(draft);
    }

    async Task<TemplateVersion> ITemplateGrain.CreateVersionAsync(Caller caller, string versionJson, int? basedOn)
    {
        Modifiable(caller);
        if (basedOn is { } source)
        {
            versionJson = TemplateSpec.Merge(Version(source).Json, versionJson);
        }
        var spec = TemplateSpec.Parse(versionJson);
        if (state.State.Versions.Count >= MaxVersions)
        {
            throw GlanceException.TooLarge($"Template {Id} has {MaxVersions} versions, the most it may keep: delete one first.");
        }
        var draft = state.State.Clone();
        var number = draft.NextNumber++;
        var version = new TemplateVersion(number, Now(), basedOn, spec.Json);
        draft.Versions[number] = version;
        draft.UpdatedAt = version.CreatedAt;
        await SaveAsync(draft);
        return version;
    }

    Task<ImmutableArray<TemplateVersion>> ITemplateGrain.ListVersionsAsync(Caller caller)
    {
        Visible(caller);
        return Task.FromResult(state.State.Versions.Values.ToImmutableArray());
    }

    Task<TemplateVersion> ITemplateGrain.GetVersionAsync(Caller caller, string selector)
    {
        Visible(caller);
        return Task.FromResult(Version(selector));
    }

    Task<TemplateSource> ITemplateGrain.GetSourceAsync(Caller caller, string selector)
    {
        Visible(caller);
        return Task.FromResult(new TemplateSource(Id, state.State.Name, Version(selector)));
    }

    async Task ITemplateGrain.DeleteVersionAsync(Caller caller, int number)
    {
        Modifiable(caller);
        Version(number);
        if (number == state.State.DefaultVersion)
        {
            throw GlanceException.Conflict($"Version {number} is the default version of template {Id}: make another version the default first.");
        }
        var draft = state.State.Clone();
        draft.Versions.Remove(number);
        draft.UpdatedAt = Now();
        await SaveAsync(draft);
    }

    async Task<TemplateMember> ITemplateGrain.AddMemberAsync(Caller caller, string memberId)
    {
        Modifiable(caller);
        EnsureShared();
        if (string.IsNullOrWhiteSpace(memberId) || memberId.Length > MaxText)
        {
            throw GlanceException.BadRequest("Member to be added not specified");
        }
        if (state.State.Members.ContainsKey(memberId))
        {
            throw GlanceException.Conflict($"Member {memberId} is duplicated for template {Id}");
        }
        if (state.State.Members.Count >= MaxMembers)
        {
            throw GlanceException.TooLarge($"Attempted: {state.State.Members.Count + 1}, Maximum: {MaxMembers}");
        }
        var now = Now();
        var draft = state.State.Clone();
        draft.Members[memberId] = new MemberState(MemberStatus.Pending, now, now);
        await SaveAsync(draft);
        return Member(memberId, draft.Members[memberId]);
    }

    Task<ImmutableArray<TemplateMember>> ITemplateGrain.ListMembersAsync(Caller caller)
    {
        Visible(caller);
        EnsureShared();
        var owner = ImageAccess.CanModify(caller, state.State.Owner);
        return Task.FromResult(state.State.Members
            .Where(m => owner || m.Key == caller.ProjectId)
            .Select(m => Member(m.Key, m.Value))
            .ToImmutableArray());
    }

    Task<TemplateMember> ITemplateGrain.GetMemberAsync(Caller caller, string memberId)
    {
        // 404 for every failure, as for images, so as not to say why.
        var notFound = GlanceException.NotFound($"{memberId} not found in the member list of the template {Id}.");
        if (!IsLive || !ImageAccess.CanSee(caller, state.State.Owner, state.State.Visibility, MemberStatuses())
            || state.State.Visibility != ImageVisibility.Shared || !state.State.Members.TryGetValue(memberId, out var member)
            || !(ImageAccess.CanModify(caller, state.State.Owner) || memberId == caller.ProjectId))
        {
            throw notFound;
        }
        return Task.FromResult(Member(memberId, member));
    }

    async Task<TemplateMember> ITemplateGrain.SetMemberStatusAsync(Caller caller, string memberId, MemberStatus status)
    {
        Visible(caller);
        var mayKnow = ImageAccess.CanModify(caller, state.State.Owner) || memberId == caller.ProjectId;
        if (!mayKnow || !state.State.Members.TryGetValue(memberId, out var member) || state.State.Visibility != ImageVisibility.Shared)
        {
            throw GlanceException.NotFound($"Member {memberId} not found for template {Id}.");
        }
        if (!caller.IsAdmin && memberId != caller.ProjectId)
        {
            throw GlanceException.Forbidden("Only the member of a shared template may change its status.");
        }
        var draft = state.State.Clone();
        draft.Members[memberId] = member with { Status = status, UpdatedAt = Now() };
        await SaveAsync(draft);
        return Member(memberId, draft.Members[memberId]);
    }

    async Task ITemplateGrain.RemoveMemberAsync(Caller caller, string memberId)
    {
        Visible(caller);
        if (!ImageAccess.CanModify(caller, state.State.Owner))
        {
            throw GlanceException.Forbidden("Only the owner of a template may remove its members.");
        }
        EnsureShared();
        if (!state.State.Members.ContainsKey(memberId))
        {
            throw GlanceException.NotFound($"Member {memberId} not found for template {Id}.");
        }
        var draft = state.State.Clone();
        draft.Members.Remove(memberId);
        await SaveAsync(draft);
    }

    Task ITemplateMaintenanceGrain.PublishToIndexAsync() => state.State.CreatedAt is null ? Task.CompletedTask : PublishAsync();

    private bool IsLive => state.State.CreatedAt is not null && !state.State.Deleted;

    private TemplateView View => _view ??= new TemplateView(Record(state.State), state.State.Versions[state.State.DefaultVersion]);

    private TemplateRecord Record(TemplateState s) => new()
    {
        Id = Id,
        Name = s.Name,
        Description = s.Description,
        Visibility = s.Visibility,
        Tags = [.. s.Tags],
        Owner = s.Owner,
        Protected = s.Protected,
        DefaultVersion = s.DefaultVersion,
        LatestVersion = s.Versions.Count == 0 ? 0 : s.Versions.Keys.Max(),
        CreatedAt = s.CreatedAt ?? default,
        UpdatedAt = s.UpdatedAt,
        ImageIds = [.. s.Versions.Values.Select(v => ImageIdOf(v.Json)).OfType<Guid>().Distinct()],
    };

    private static Guid? ImageIdOf(string versionJson)
    {
        using var document = JsonDocument.Parse(versionJson);
        return document.RootElement.TryGetProperty("image", out var image) && image.TryGetProperty("id", out var id)
            && Guid.TryParse(id.GetString(), out var imageId) ? imageId : null;
    }

    /// <summary>Visible to the caller, else "not found" (never "forbidden").</summary>
    private void Visible(Caller caller)
    {
        if (!IsLive || !ImageAccess.CanSee(caller, state.State.Owner, state.State.Visibility, MemberStatuses()))
        {
            throw GlanceException.NotFound($"No template found with ID {Id}");
        }
    }

    private void Modifiable(Caller caller)
    {
        Visible(caller);
        if (!ImageAccess.CanModify(caller, state.State.Owner))
        {
            throw GlanceException.Forbidden($"You are not permitted to modify template {Id}.");
        }
    }

    private void EnsureShared()
    {
        if (state.State.Visibility != ImageVisibility.Shared)
        {
            throw GlanceException.Forbidden($"Only shared templates have members: template {Id} is {WireNames.Of(state.State.Visibility)}.");
        }
    }

    /// <summary>A version by number, <c>$default</c> or <c>$latest</c>; 404 when there is none.</summary>
    private TemplateVersion Version(string selector) => selector switch
    {
        "$default" or "" => state.State.Versions[state.State.DefaultVersion],
        "$latest" => state.State.Versions.Values.Last(),
        _ when int.TryParse(selector, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) => Version(number),
        _ => throw GlanceException.BadRequest($"version must be a number, '$default' or '$latest', not '{selector}'."),
    };

    private TemplateVersion Version(int number) =>
        state.State.Versions.TryGetValue(number, out var version)
            ? version
            : throw GlanceException.NotFound($"Version {number} of template {Id} not found.");

    private void Apply(TemplateState draft, PatchOperation operation)
    {
        var value = operation.ValueJson is null ? default : JsonSerializer.Deserialize<JsonElement>(operation.ValueJson);
        var remove = operation.Op == PatchOp.Remove;
        switch (operation.Attribute)
        {
            case "name" when !remove:
                draft.Name = CheckName(value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid("name", "a string"));
                break;
            case "description":
                draft.Description = remove || value.ValueKind == JsonValueKind.Null ? null
                    : CheckText(value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid("description", "a string"), "description");
                break;
            case "tags":
                draft.Tags = remove ? new SortedSet<string>(StringComparer.Ordinal)
                    : value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String)
                        ? new SortedSet<string>(CheckTags([.. value.EnumerateArray().Select(t => t.GetString()!)]), StringComparer.Ordinal)
                        : throw Invalid("tags", "a list of strings");
                break;
            case "visibility" when !remove:
                draft.Visibility = value.ValueKind == JsonValueKind.String && WireNames.TryParse(value.GetString()!, out ImageVisibility visibility)
                    ? visibility
                    : throw Invalid("visibility", "one of public, private, shared, community");
                break;
            case "protected" when !remove:
                draft.Protected = value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw Invalid("protected", "a boolean");
                break;
            case "default_version" when !remove:
                var number = value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : throw Invalid("default_version", "a version number");
                draft.DefaultVersion = draft.Versions.ContainsKey(number)
                    ? number
                    : throw GlanceException.BadRequest($"default_version {number} is not a version of template {Id}.");
                break;
            case "name" or "visibility" or "protected" or "default_version":
                throw GlanceException.Forbidden($"Attribute '{operation.Attribute}' cannot be removed.");
            case "id" or "owner" or "created_at" or "updated_at" or "latest_version" or "self" or "version":
                throw GlanceException.Forbidden($"Attribute '{operation.Attribute}' is read-only.");
            default:
                throw GlanceException.BadRequest($"Templates have no attribute '{operation.Attribute}' (name, description, tags, visibility, protected, default_version).");
        }
    }

    private static GlanceException Invalid(string attribute, string expected) =>
        GlanceException.BadRequest($"Invalid value for '{attribute}': it must be {expected}.");

    private static string CheckName(string? name) =>
        string.IsNullOrWhiteSpace(name) ? throw GlanceException.BadRequest("A template needs a name.") : CheckText(name, "name")!;

    private static string? CheckText(string? text, string attribute) =>
        text is { Length: > MaxText } && attribute == "name" ? throw GlanceException.BadRequest($"name is longer than {MaxText} characters.")
        : text is { Length: > 4096 } ? throw GlanceException.BadRequest($"{attribute} is longer than 4096 characters.")
        : text;

    private static ImmutableArray<string> CheckTags(ImmutableArray<string> tags)
    {
        if (tags.IsDefault)
        {
            return [];
        }
        if (tags.Length > 128)
        {
            throw GlanceException.TooLarge("A template may have at most 128 tags.");
        }
        foreach (var tag in tags)
        {
            if (tag.Length is 0 or > MaxText || tag.Contains('\n'))
            {
                throw GlanceException.BadRequest($"Invalid tag: tags are 1 to {MaxText} characters.");
            }
        }
        return tags;
    }

    private async Task SaveAsync(TemplateState draft)
    {
        draft.Version = state.State.Version + 1;
        await state.ReplaceAsync(draft, () => (_view, _memberStatuses) = (null, null));
        await PublishAsync();
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The retry timer ends with this activation (a silo's graceful stop ends them all): the
        // entry's last chance before the next repair pass.
        await _indexRetry.LastChanceAsync(() => PublishAsync(retryLater: false));
        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <summary>Sends the entry to the template's index shard; on failure a timer retries (the write stands).</summary>
    private async Task PublishAsync(bool retryLater = true)
    {
        var current = state.State;
        var shard = GrainFactory.GetGrain<ITemplateShardGrain>(this.CatalogShards().Of(current.Owner, Id));
        try
        {
            if (current.Deleted)
            {
                await shard.RemoveAsync(Id, current.Version).WaitAsync(IndexCallTimeout);
            }
            else
            {
                await shard.UpsertAsync(new TemplateEntry(View.Template, MemberStatuses(), current.Version)).WaitAsync(IndexCallTimeout);
            }
            _indexRetry.Stop();
        }
        catch (Exception exception) when (!retryLater)
        {
            logger.LogError(exception, "Index update for template {TemplateId} failed as its activation ended; the next repair pass sends it again", Id);
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Index update for template {TemplateId} failed; retrying", Id);
            _indexRetry.Start(this, () => PublishAsync());
        }
    }

    private ImmutableDictionary<string, MemberStatus> MemberStatuses() =>
        _memberStatuses ??= state.State.Members.ToImmutableDictionary(m => m.Key, m => m.Value.Status);

    private TemplateMember Member(string memberId, MemberState member) =>
        new(Id, memberId, member.Status, member.CreatedAt, member.UpdatedAt);

    // Whole seconds, as images: date order agrees with what clients see.
    private DateTimeOffset Now()
    {
        var now = clock.GetUtcNow();
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}
